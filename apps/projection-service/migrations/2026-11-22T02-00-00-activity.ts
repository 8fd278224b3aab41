import { Kysely } from 'kysely';

// Activity: counters per notebook, per user, and per user within a notebook, kept by the
// read-notebooks projection in the transaction that applies each commit (so exactly once).
export async function up(db: Kysely<any>): Promise<void> {
  const read = db.schema.withSchema('read');
  await read
    .createTable('notebook_activity')
    .addColumn('notebook_id', 'uuid', (c) => c.primaryKey())
    .addColumn('edits', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('forks', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_activity_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await read
    .createTable('notebook_contributors')
    .addColumn('notebook_id', 'uuid', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('edits', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_activity_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('notebook_contributors_pkey', ['notebook_id', 'user_id'])
    .execute();
  await read
    .createTable('user_activity')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey())
    .addColumn('edits', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('notebooks_created', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('forks', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_activity_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['user_activity', 'notebook_contributors', 'notebook_activity']) await db.schema.withSchema('read').dropTable(table).ifExists().execute();
}
