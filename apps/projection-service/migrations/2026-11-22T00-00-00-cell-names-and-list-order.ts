import { Kysely, sql } from 'kysely';

// What each cell defines and references (Observable's dataflow), and notebook lists ordered by
// creation: `created_at desc, id desc` never changes for a row, so keyset pages never skip or
// repeat a notebook the way `updated_at` order did while notebooks were being edited.
// Cells projected before this migration keep the defaults (no name, no references) until they are
// edited or the read model is rebuilt (`npm run ops -- replay read-notebooks`): a migration does not
// call the parser, whose answers may change with later code.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .withSchema('read')
    .alterTable('cells')
    .addColumn('name', 'text')
    .addColumn('references', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();

  await sql`drop index read.notebooks_owner_idx`.execute(db);
  await sql`drop index read.notebooks_public_idx`.execute(db);
  await sql`create index notebooks_owner_list_idx on read.notebooks (owner_id, created_at desc, id desc) where not deleted`.execute(db);
  await sql`create index notebooks_public_list_idx on read.notebooks (created_at desc, id desc) where visibility = 'PUBLIC' and not deleted`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index read.notebooks_owner_list_idx`.execute(db);
  await sql`drop index read.notebooks_public_list_idx`.execute(db);
  await sql`create index notebooks_owner_idx on read.notebooks (owner_id, updated_at desc, id) where not deleted`.execute(db);
  await sql`create index notebooks_public_idx on read.notebooks (updated_at desc, id) where visibility = 'PUBLIC' and not deleted`.execute(db);
  await db.schema.withSchema('read').alterTable('cells').dropColumn('name').dropColumn('references').execute();
}
