import { Kysely, sql } from 'kysely';

// Where this service's consumers keep their position in each stream (written in the same
// transaction as the rows they produce) and the events they could not apply.
export async function up(db: Kysely<any>): Promise<void> {
  const schema = db.schema.withSchema('search');
  await db.schema.createSchema('search').ifNotExists().execute();
  await schema
    .createTable('checkpoints')
    .addColumn('projection', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('sequence', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('checkpoints_pkey', ['projection', 'stream'])
    .execute();
  await schema
    .createTable('dead_letters')
    .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn('projection', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('sequence', 'bigint', (c) => c.notNull())
    .addColumn('aggregate_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('payload', 'bytea', (c) => c.notNull())
    .addColumn('error', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('parked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('dead_letters_projection_stream_sequence_key', ['projection', 'stream', 'sequence'])
    .execute();
  await schema
    .createIndex('dead_letters_aggregate_idx')
    .on('dead_letters')
    .columns(['projection', 'aggregate_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.withSchema('search').dropTable('dead_letters').ifExists().execute();
  await db.schema.withSchema('search').dropTable('checkpoints').ifExists().execute();
}
