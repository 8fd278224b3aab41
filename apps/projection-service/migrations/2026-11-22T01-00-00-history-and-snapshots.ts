import { Kysely, sql } from 'kysely';

// Time travel: every notebook event as clients see it (data upcast to the schema version it was
// projected with, recorded beside it, so later versions upcast it again on the way out), and the
// notebook's full state every so many versions (in a recorded format), so a past version is a
// snapshot plus a short fold.
export async function up(db: Kysely<any>): Promise<void> {
  const read = db.schema.withSchema('read');
  await read
    .createTable('notebook_events')
    .addColumn('notebook_id', 'uuid', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('schema_version', 'integer', (c) => c.notNull())
    .addColumn('actor_id', 'uuid')
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addPrimaryKeyConstraint('notebook_events_pkey', ['notebook_id', 'version'])
    .execute();
  await read
    .createTable('notebook_snapshots')
    .addColumn('notebook_id', 'uuid', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('format', 'integer', (c) => c.notNull())
    .addColumn('moment', 'jsonb', (c) => c.notNull())
    .addPrimaryKeyConstraint('notebook_snapshots_pkey', ['notebook_id', 'version'])
    .execute();
  // Notebooks projected before this migration have no history rows until a replay rebuilds the read
  // model from the log (`npm run ops -- replay read-notebooks`); until then their past is UNAVAILABLE.
  await sql`comment on table read.notebook_events is 'one row per notebook event; filled by the read-notebooks projection'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['notebook_snapshots', 'notebook_events']) await db.schema.withSchema('read').dropTable(table).ifExists().execute();
}
