import {
  CellKind,
  eventDecoder,
  NOTEBOOK_VERSION_CHANNEL,
  notebookVersionPayload,
  type CellUpdated,
  type CommitMessage,
  type NotebookEvent,
  type ReadModelTables,
} from '@notebooks/contracts';
import { analyzeCell, IncompleteHistory, NOTEBOOK_MOMENT_FORMAT, type CellAnalysis } from '@notebooks/notebook-domain';
import { notebookMomentAt, snapshotDue } from '@notebooks/notebook-read-model';
import { shouldApply } from '@notebooks/projector';
import { recordActivity } from './activity.projection';
import { sql, type Transaction } from 'kysely';

const decode = eventDecoder('notebooks');

/**
 * Folds a notebook commit into notebooks, cells (dense positions) and collaborators. The notebook
 * row is locked and its version compared first: an applied commit is skipped, one that is ahead
 * throws ProjectionGap (its predecessor comes first). An applied commit is announced on
 * NOTEBOOK_VERSION_CHANNEL; Postgres delivers it only if and when the transaction commits.
 */
export async function projectNotebookCommit(trx: Transaction<ReadModelTables>, commit: CommitMessage): Promise<void> {
  const last = commit.events.at(-1);
  const id = commit.streamId;
  const current = await trx.selectFrom('read.notebooks').select('version').where('id', '=', id).forUpdate().executeTakeFirst();
  if (!last || !shouldApply(commit, current?.version ?? 0)) return;

  const events = commit.events.map((envelope) => ({ envelope, event: decode(envelope) }));
  for (const { envelope, event } of events) await applyEvent(trx, id, event, new Date(envelope.occurredAt), envelope.version);
  await trx.updateTable('read.notebooks').set({ version: last.version, updated_at: new Date(last.occurredAt) }).where('id', '=', id).execute();
  await trx
    .insertInto('read.notebook_events')
    .values(
      events.map(({ envelope, event }) => ({
        notebook_id: id,
        version: envelope.version,
        type: event.type,
        schema_version: event.schemaVersion,
        actor_id: envelope.actorId,
        occurred_at: new Date(envelope.occurredAt),
        data: JSON.stringify(event.data),
      })),
    )
    .execute();
  await recordActivity(trx, commit);
  if (snapshotDue(current?.version ?? 0, last.version)) await snapshot(trx, id, last.version);
  await sql`select pg_notify(${NOTEBOOK_VERSION_CHANNEL}, ${notebookVersionPayload(id, last.version)})`.execute(trx);
}

async function applyEvent(trx: Transaction<ReadModelTables>, id: string, event: NotebookEvent, at: Date, version: number): Promise<void> {
  const cells = () => trx.updateTable('read.cells').where('notebook_id', '=', id);
  switch (event.type) {
    case 'notebook.created': {
      const { ownerId, title, description, visibility, forkedFrom } = event.data;
      await trx
        .insertInto('read.notebooks')
        .values({
          id,
          owner_id: ownerId,
          title,
          description,
          visibility,
          forked_from_id: forkedFrom?.notebookId ?? null,
          forked_from_version: forkedFrom?.version ?? null,
          deleted: false,
          version,
          created_at: at,
          updated_at: at,
        })
        .execute();
      return;
    }
    case 'notebook.updated': {
      const { title, description, visibility } = event.data;
      await trx
        .updateTable('read.notebooks')
        .set({ ...(title !== undefined && { title }), ...(description !== undefined && { description }), ...(visibility !== undefined && { visibility }) })
        .where('id', '=', id)
        .execute();
      return;
    }
    case 'notebook.deleted':
      await trx.updateTable('read.notebooks').set({ deleted: true }).where('id', '=', id).execute();
      return;
    case 'notebook.forked':
      return;
    case 'notebook.restored': {
      const { title, description, visibility, cells: restored } = event.data;
      await trx
        .updateTable('read.notebooks')
        .set({ title, description, ...(visibility !== undefined && { visibility }) })
        .where('id', '=', id)
        .execute();
      await trx.deleteFrom('read.cells').where('notebook_id', '=', id).execute();
      if (restored.length > 0) {
        await trx
          .insertInto('read.cells')
          .values(
            restored.map((cell, position) => ({
              notebook_id: id,
              id: cell.cellId,
              kind: cell.kind,
              value: cell.value,
              ...analyzeCell(cell.kind, cell.value),
              is_closed: cell.isClosed,
              position,
              created_at: at,
              updated_at: at,
            })),
          )
          .execute();
      }
      return;
    }
    case 'notebook.shared':
      await trx
        .insertInto('read.collaborators')
        .values({ notebook_id: id, user_id: event.data.userId, role: event.data.role })
        .onConflict((c) => c.columns(['notebook_id', 'user_id']).doUpdateSet({ role: event.data.role }))
        .execute();
      return;
    case 'notebook.unshared':
      await trx.deleteFrom('read.collaborators').where('notebook_id', '=', id).where('user_id', '=', event.data.userId).execute();
      return;
    case 'cell.created': {
      const { cellId, kind, value, position, isClosed } = event.data;
      await cells().set({ position: sql`position + 1` }).where('position', '>=', position).execute();
      await trx
        .insertInto('read.cells')
        .values({ notebook_id: id, id: cellId, kind, value, ...analyzeCell(kind, value), position, is_closed: isClosed, created_at: at, updated_at: at })
        .execute();
      return;
    }
    case 'cell.updated': {
      const { cellId, changes } = event.data;
      const { value, kind, isClosed } = changes;
      const analysis = value !== undefined || kind !== undefined ? await analysisAfterUpdate(trx, id, event.data) : {};
      await cells()
        .set({
          updated_at: at,
          ...(value !== undefined && { value }),
          ...(kind !== undefined && { kind }),
          ...(isClosed !== undefined && { is_closed: isClosed }),
          ...analysis,
        })
        .where('id', '=', cellId)
        .execute();
      return;
    }
    case 'cell.moved': {
      const { cellId, position: to } = event.data;
      const cell = await trx.selectFrom('read.cells').select('position').where('notebook_id', '=', id).where('id', '=', cellId).executeTakeFirstOrThrow();
      const from = cell.position;
      if (to > from) await cells().set({ position: sql`position - 1` }).where('position', '>', from).where('position', '<=', to).execute();
      if (to < from) await cells().set({ position: sql`position + 1` }).where('position', '>=', to).where('position', '<', from).execute();
      await cells().set({ position: to, updated_at: at }).where('id', '=', cellId).execute();
      return;
    }
    case 'cell.deleted': {
      const cell = await trx.deleteFrom('read.cells').where('notebook_id', '=', id).where('id', '=', event.data.cellId).returning('position').executeTakeFirstOrThrow();
      await cells().set({ position: sql`position - 1` }).where('position', '>', cell.position).execute();
      return;
    }
  }
}

/**
 * Stores the notebook as of `version`: the latest snapshot folded on with the history since. Skipped
 * while the history is incomplete (a notebook projected before history existed): a snapshot built
 * from part of it would be wrong, and a replay rebuilds both.
 */
async function snapshot(trx: Transaction<ReadModelTables>, id: string, version: number): Promise<void> {
  let moment;
  try {
    moment = await notebookMomentAt(trx, id, version);
  } catch (error) {
    if (error instanceof IncompleteHistory) return;
    throw error;
  }
  await trx
    .insertInto('read.notebook_snapshots')
    .values({ notebook_id: id, version, format: NOTEBOOK_MOMENT_FORMAT, moment: JSON.stringify(moment) })
    .onConflict((c) => c.columns(['notebook_id', 'version']).doNothing())
    .execute();
}

/** An update may change only the kind or only the value; the other half comes from the stored cell. */
async function analysisAfterUpdate(trx: Transaction<ReadModelTables>, notebookId: string, { cellId, changes }: CellUpdated): Promise<CellAnalysis> {
  if (changes.kind !== undefined && changes.value !== undefined) return analyzeCell(changes.kind, changes.value);
  const stored = await trx
    .selectFrom('read.cells')
    .select(['kind', 'value'])
    .where('notebook_id', '=', notebookId)
    .where('id', '=', cellId)
    .executeTakeFirstOrThrow();
  return analyzeCell(changes.kind ?? CellKind.parse(stored.kind), changes.value ?? stored.value);
}
