import { NOTEBOOK_SNAPSHOT_INTERVAL, type ReadModelTables } from '@notebooks/contracts';
import { momentAt, NOTEBOOK_MOMENT_FORMAT, type NotebookMoment } from '@notebooks/notebook-domain';
import type { Kysely } from 'kysely';

/**
 * A notebook as it was at `version`, from the `read` schema: the latest stored snapshot at or before
 * it (in the current format) folded on with the history since — at most NOTEBOOK_SNAPSHOT_INTERVAL
 * events. Throws IncompleteHistory when the history lacks some of them. Used by projection-service
 * to store snapshots and by the gateway to answer `Notebook.snapshot`, so both fold alike.
 */
export async function notebookMomentAt(db: Kysely<ReadModelTables>, notebookId: string, version: number): Promise<NotebookMoment> {
  const base = await db
    .selectFrom('read.notebook_snapshots')
    .select(['version', 'moment'])
    .where('notebook_id', '=', notebookId)
    .where('version', '<=', version)
    .where('format', '=', NOTEBOOK_MOMENT_FORMAT)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  const rows = await db
    .selectFrom('read.notebook_events')
    .select(['version', 'type', 'schema_version', 'data', 'occurred_at'])
    .where('notebook_id', '=', notebookId)
    .where('version', '>', base?.version ?? 0)
    .where('version', '<=', version)
    .orderBy('version')
    .execute();
  return momentAt(
    base ? { version: base.version, moment: base.moment as NotebookMoment } : null,
    rows.map((row) => ({ version: row.version, type: row.type, schemaVersion: row.schema_version, data: row.data, occurredAt: row.occurred_at.toISOString() })),
    version,
  );
}

/** Whether a commit that moved a notebook from `before` to `after` crosses a snapshot boundary. */
export function snapshotDue(before: number, after: number): boolean {
  return Math.floor(after / NOTEBOOK_SNAPSHOT_INTERVAL) > Math.floor(before / NOTEBOOK_SNAPSHOT_INTERVAL);
}
