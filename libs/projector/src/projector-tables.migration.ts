import { Kysely, sql } from 'kysely';

/**
 * The tables every service that projects the event log keeps in its own schema: each consumer's
 * position per stream (written in the same transaction as the rows it produces) and the commits it
 * could not apply. Frozen like any migration: a change is a new `…V2` function.
 */
export async function createProjectorTablesV1(db: Kysely<any>, schema: string): Promise<void> {
  const tables = db.schema.withSchema(schema);
  await db.schema.createSchema(schema).ifNotExists().execute();
  await tables
    .createTable('checkpoints')
    .addColumn('projection', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('sequence', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('checkpoints_pkey', ['projection', 'stream'])
    .execute();
  await tables
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
  await tables.createIndex('dead_letters_aggregate_idx').on('dead_letters').columns(['projection', 'aggregate_id']).execute();
}

export async function dropProjectorTablesV1(db: Kysely<any>, schema: string): Promise<void> {
  await db.schema.withSchema(schema).dropTable('dead_letters').ifExists().execute();
  await db.schema.withSchema(schema).dropTable('checkpoints').ifExists().execute();
}
