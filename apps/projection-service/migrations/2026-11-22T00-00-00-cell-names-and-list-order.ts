import type { CellKind } from '@notebooks/contracts';
import { analyzeCell } from '@notebooks/notebook-domain';
import { Kysely, sql } from 'kysely';

const BACKFILL_BATCH = 500;

interface CellSource {
  notebook_id: string;
  id: string;
  kind: CellKind;
  value: string;
}

// What each cell defines and references (Observable's dataflow), and notebook lists ordered by
// creation: `created_at desc, id desc` never changes for a row, so keyset pages never skip or
// repeat a notebook the way `updated_at` order did while notebooks were being edited.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .withSchema('read')
    .alterTable('cells')
    .addColumn('name', 'text')
    .addColumn('references', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();
  await backfillCellAnalysis(db);

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

/** Keyset batches, so a large read model is never held in memory at once. */
async function backfillCellAnalysis(db: Kysely<any>): Promise<void> {
  let after: CellSource | undefined;
  for (;;) {
    const batch = await cellsAfter(db, after);
    await writeCellAnalysis(db, batch);
    if (batch.length < BACKFILL_BATCH) return;
    after = batch.at(-1);
  }
}

async function cellsAfter(db: Kysely<any>, after: CellSource | undefined): Promise<CellSource[]> {
  let query = db
    .selectFrom('read.cells')
    .select(['notebook_id', 'id', 'kind', 'value'])
    .orderBy('notebook_id')
    .orderBy('id')
    .limit(BACKFILL_BATCH);
  if (after) query = query.where(sql<boolean>`(notebook_id, id) > (${after.notebook_id}::uuid, ${after.id}::uuid)`);
  return query.execute();
}

async function writeCellAnalysis(db: Kysely<any>, cells: CellSource[]): Promise<void> {
  const analyzed = cells
    .map((cell) => ({ notebook_id: cell.notebook_id, id: cell.id, ...analyzeCell(cell.kind, cell.value) }))
    // The new columns' defaults already say "defines and references nothing".
    .filter((cell) => cell.name !== null || cell.references.length > 0);
  if (analyzed.length === 0) return;
  // One statement per batch; JSON carries the ragged `references` arrays, which unnest cannot.
  await sql`
    update read.cells c
    set name = v.name, "references" = array(select r from jsonb_array_elements_text(v."references") with ordinality as t(r, i) order by i)
    from jsonb_to_recordset(${JSON.stringify(analyzed)}::jsonb) as v(notebook_id uuid, id uuid, name text, "references" jsonb)
    where c.notebook_id = v.notebook_id and c.id = v.id
  `.execute(db);
}
