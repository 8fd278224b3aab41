import { Kysely, sql } from 'kysely';

// The search index. `notebooks` holds who may read each notebook (owner, visibility, deleted) and the
// version the index reflects: every write is guarded by it. `documents` holds the text: one row per
// notebook (title and description, `cell_id` null) and one per cell (its source), with a weighted
// tsvector. A deleted notebook keeps its `notebooks` row (the version guard needs it) and loses
// its documents.
export async function up(db: Kysely<any>): Promise<void> {
  // Trusted since Postgres 13: the database owner may create it. It goes where extensions go
  // (`public`): a replay's copies of the indexes below find its operator class there too.
  await sql`create extension if not exists pg_trgm`.execute(db);
  await sql`
    create table search.notebooks (
      id uuid primary key,
      owner_id uuid not null,
      visibility text not null,
      deleted boolean not null default false,
      version integer not null
    )`.execute(db);
  await sql`
    create table search.collaborators (
      notebook_id uuid not null references search.notebooks (id) on delete cascade,
      user_id uuid not null,
      constraint collaborators_pkey primary key (notebook_id, user_id)
    )`.execute(db);
  await sql`create index collaborators_user_idx on search.collaborators (user_id)`.execute(db);
  await sql`
    create table search.documents (
      notebook_id uuid not null references search.notebooks (id) on delete cascade,
      cell_id uuid,
      title text,
      description text,
      source text,
      -- Title A, description B, cell source C: ts_rank_cd weighs them 1.0, 0.4 and 0.2. The parser
      -- takes '<' for the start of an HTML tag and skips what follows (all of a <script>, or the
      -- 'b && c' of 'a<b && c>d'), so '<' reaches it as U+0001, which it reads as a separator.
      document tsvector not null generated always as (
        setweight(to_tsvector('english'::regconfig, translate(coalesce(title, ''), E'<\\x01', E'\\x01 ')), 'A') ||
        setweight(to_tsvector('english'::regconfig, translate(coalesce(description, ''), E'<\\x01', E'\\x01 ')), 'B') ||
        setweight(to_tsvector('english'::regconfig, translate(coalesce(source, ''), E'<\\x01', E'\\x01 ')), 'C')
      ) stored,
      constraint documents_key unique nulls not distinct (notebook_id, cell_id)
    )`.execute(db);
  await sql`create index documents_document_idx on search.documents using gin (document)`.execute(db);
  // Every word (letters only) documents have held: typos and partial words are matched against
  // these by trigram similarity, and the terms found widen the full-text query.
  await sql`create table search.terms (term text primary key)`.execute(db);
  await sql`create index terms_trgm_idx on search.terms using gin (term gin_trgm_ops)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['terms', 'documents', 'collaborators', 'notebooks']) await db.schema.withSchema('search').dropTable(table).ifExists().execute();
}
