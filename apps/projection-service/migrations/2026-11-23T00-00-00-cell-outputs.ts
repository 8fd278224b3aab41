import { Kysely } from 'kysely';

// Execution results, kept by the read-executions projection from the EXECUTIONS stream: each cell's
// latest output, and per notebook the executions stream version applied (its guard) and how many
// cell runs it has recorded. No foreign keys to notebooks or cells: results may be projected before
// the notebook is, and a replay swaps these tables alone.
export async function up(db: Kysely<any>): Promise<void> {
  const read = db.schema.withSchema('read');
  await read
    .createTable('cell_outputs')
    .addColumn('notebook_id', 'uuid', (c) => c.notNull())
    // As execution events carry it: any non-empty string, so an odd id never parks a notebook's results.
    .addColumn('cell_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('display', 'text')
    .addColumn('value', 'jsonb')
    .addColumn('html', 'text')
    .addColumn('error', 'text')
    .addColumn('duration_ms', 'double precision', (c) => c.notNull())
    .addColumn('notebook_version', 'integer', (c) => c.notNull())
    .addColumn('executed_at', 'timestamptz', (c) => c.notNull())
    // Version of the result's event on the notebook's executions stream: log order among results.
    .addColumn('event_version', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('cell_outputs_pkey', ['notebook_id', 'cell_id'])
    .execute();
  await read
    .createTable('notebook_executions')
    .addColumn('notebook_id', 'uuid', (c) => c.primaryKey())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('executions', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['notebook_executions', 'cell_outputs']) await db.schema.withSchema('read').dropTable(table).ifExists().execute();
}
