import { Kysely, sql } from 'kysely';

// The read models the gateway serves. `version` is the aggregate version a row reflects: every
// update is guarded by it, so redelivery, replicas and replays never double-apply or regress.
export async function up(db: Kysely<any>): Promise<void> {
  const read = db.schema.withSchema('read');
  await read
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await read.createIndex('users_email_idx').on('users').column('email').execute();
  await read
    .createTable('notebooks')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('owner_id', 'uuid', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('visibility', 'text', (c) => c.notNull())
    .addColumn('forked_from_id', 'uuid')
    .addColumn('forked_from_version', 'integer')
    .addColumn('deleted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create index notebooks_owner_idx on read.notebooks (owner_id, updated_at desc, id) where not deleted`.execute(db);
  await sql`create index notebooks_public_idx on read.notebooks (updated_at desc, id) where visibility = 'PUBLIC' and not deleted`.execute(db);
  await read
    .createTable('cells')
    .addColumn('notebook_id', 'uuid', (c) => c.notNull().references('read.notebooks.id').onDelete('cascade'))
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('is_closed', 'boolean', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('cells_pkey', ['notebook_id', 'id'])
    .execute();
  await read.createIndex('cells_order_idx').on('cells').columns(['notebook_id', 'position']).execute();
  await read
    .createTable('collaborators')
    .addColumn('notebook_id', 'uuid', (c) => c.notNull().references('read.notebooks.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('collaborators_pkey', ['notebook_id', 'user_id'])
    .execute();
  await read.createIndex('collaborators_user_idx').on('collaborators').column('user_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['collaborators', 'cells', 'notebooks', 'users']) await db.schema.withSchema('read').dropTable(table).ifExists().execute();
}
