import { Kysely } from 'kysely';

// Counters of share-by-email lookups per user (rate-limiter-flexible's table layout): whether an
// email has an account is something a user may ask about only so often.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .withSchema('notebook')
    .createTable('share_lookup_limits')
    .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expire', 'bigint')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.withSchema('notebook').dropTable('share_lookup_limits').ifExists().execute();
}
