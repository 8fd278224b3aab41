import { eventDecoder, type CellExecuted, type CellFailed, type CommitMessage, type ReadModelTables } from '@notebooks/contracts';
import { shouldApply } from '@notebooks/projector';
import type { Insertable, Transaction } from 'kysely';

const decode = eventDecoder('executions');

type CellOutputRow = Insertable<ReadModelTables['read.cell_outputs']>;

/**
 * Folds a notebook's execution results (one aggregate per notebook on EXECUTIONS) into each cell's
 * latest output, and counts them: every `cell.executed` / `cell.failed` is one cell run, a stale one
 * included. Guarded by the executions stream version kept in `notebook_executions`, so a commit
 * counts once however often it is delivered, and a replay gives the same tables.
 */
export async function projectExecutionCommit(trx: Transaction<ReadModelTables>, commit: CommitMessage): Promise<void> {
  const last = commit.events.at(-1);
  const notebookId = commit.streamId;
  if (!last) return;
  // Creates the notebook's row on its first commit and locks it either way, in one statement:
  // replicas applying the same notebook's commits queue here instead of both counting one.
  const { version } = await trx
    .insertInto('read.notebook_executions')
    .values({ notebook_id: notebookId, version: 0, executions: 0 })
    .onConflict((c) => c.column('notebook_id').doUpdateSet((eb) => ({ version: eb.ref('read.notebook_executions.version') })))
    .returning('version')
    .executeTakeFirstOrThrow();
  if (!shouldApply(commit, version)) return;

  const outputs = new Map<string, CellOutputRow>();
  for (const envelope of commit.events) {
    const { data } = decode(envelope);
    const row = toRow(notebookId, data, envelope.version);
    const kept = outputs.get(row.cell_id);
    // One row per cell per statement (an upsert may touch a row once), chosen by the rule below.
    if (!kept || row.notebook_version >= kept.notebook_version) outputs.set(row.cell_id, row);
  }
  await trx
    .insertInto('read.cell_outputs')
    .values([...outputs.values()])
    .onConflict((c) =>
      c
        .columns(['notebook_id', 'cell_id'])
        .doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'),
          display: eb.ref('excluded.display'),
          value: eb.ref('excluded.value'),
          html: eb.ref('excluded.html'),
          error: eb.ref('excluded.error'),
          duration_ms: eb.ref('excluded.duration_ms'),
          notebook_version: eb.ref('excluded.notebook_version'),
          executed_at: eb.ref('excluded.executed_at'),
          event_version: eb.ref('excluded.event_version'),
        }))
        // A stale result never overwrites a newer one: older notebook version loses, same version the later event wins.
        .where((eb) =>
          eb.or([
            eb('excluded.notebook_version', '>', eb.ref('read.cell_outputs.notebook_version')),
            eb.and([
              eb('excluded.notebook_version', '=', eb.ref('read.cell_outputs.notebook_version')),
              eb('excluded.event_version', '>', eb.ref('read.cell_outputs.event_version')),
            ]),
          ]),
        ),
    )
    .execute();
  await trx
    .updateTable('read.notebook_executions')
    .set((eb) => ({ version: last.version, executions: eb('executions', '+', commit.events.length) }))
    .where('notebook_id', '=', notebookId)
    .execute();
}

function toRow(notebookId: string, result: CellExecuted | CellFailed, eventVersion: number): CellOutputRow {
  return {
    notebook_id: notebookId,
    cell_id: result.cellId,
    status: result.status,
    display: result.display,
    value: result.value === null ? null : JSON.stringify(result.value),
    html: result.html,
    error: result.error,
    duration_ms: result.durationMs,
    notebook_version: result.notebookVersion,
    executed_at: new Date(result.executedAt),
    event_version: eventVersion,
  };
}
