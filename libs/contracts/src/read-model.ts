/**
 * The `read` schema: written by projection-service, read (only) by the gateway. Plain row types, so
 * both sides agree without sharing a database library; `version` on a notebook or user row is the
 * aggregate version it reflects.
 */
export interface ReadModelTables {
  'read.users': { id: string; email: string; display_name: string; version: number; created_at: Date };
  'read.notebooks': {
    id: string;
    owner_id: string;
    title: string;
    description: string | null;
    visibility: string;
    forked_from_id: string | null;
    forked_from_version: number | null;
    deleted: boolean;
    version: number;
    created_at: Date;
    updated_at: Date;
  };
  'read.cells': {
    notebook_id: string;
    id: string;
    kind: string;
    value: string;
    position: number;
    is_closed: boolean;
    /** The name the cell defines (Observable JavaScript), if any. */
    name: string | null;
    /** Names the cell references, sorted, without duplicates. */
    references: string[];
    created_at: Date;
    updated_at: Date;
  };
  'read.collaborators': { notebook_id: string; user_id: string; role: string };
  /** Every notebook event, data upcast to its current schema version. */
  'read.notebook_events': { notebook_id: string; version: number; type: string; schema_version: number; actor_id: string | null; occurred_at: Date; data: unknown };
  /** A notebook's full state at a version, every so many versions (a JSON `NotebookMoment` of the notebook domain, in `format`). */
  'read.notebook_snapshots': { notebook_id: string; version: number; format: number; moment: unknown };
  /** Edits (commands that changed the notebook) and forks taken of it. */
  'read.notebook_activity': { notebook_id: string; edits: number; forks: number; last_activity_at: Date };
  /** Each user's edits within a notebook (its owner's included). */
  'read.notebook_contributors': { notebook_id: string; user_id: string; edits: number; last_activity_at: Date };
  /** Each user's activity across notebooks: edits, notebooks created (forks included), forks made. */
  'read.user_activity': { user_id: string; edits: number; notebooks_created: number; forks: number; last_activity_at: Date };
  /**
   * Each cell's latest execution result (a `CellOutput`). A result computed from an older notebook
   * version never replaces one from a newer; for the same notebook version the later in the log
   * (`event_version`, its version on the notebook's executions stream) wins.
   */
  'read.cell_outputs': {
    notebook_id: string;
    cell_id: string;
    status: string;
    display: string | null;
    /** jsonb: the value's JSON (written as JSON text), null when it has none. */
    value: unknown;
    html: string | null;
    error: string | null;
    duration_ms: number;
    notebook_version: number;
    executed_at: Date;
    event_version: number;
  };
  /** Per notebook: the executions stream version applied, and the cell runs recorded (one per result event). */
  'read.notebook_executions': { notebook_id: string; version: number; executions: number };
}

/** The read model keeps a notebook snapshot at least every this many versions. */
export const NOTEBOOK_SNAPSHOT_INTERVAL = 100;

/**
 * Postgres channel on which projection-service announces, in the transaction that applies it, that
 * a notebook's read model reached a version. Payload: `<notebookId>:<version>`.
 */
export const NOTEBOOK_VERSION_CHANNEL = 'read_notebook_versions';

export function notebookVersionPayload(notebookId: string, version: number): string {
  return `${notebookId}:${version}`;
}

export function parseNotebookVersionPayload(payload: string): { notebookId: string; version: number } | null {
  const [notebookId, version] = payload.split(':');
  const parsed = Number(version);
  return notebookId && Number.isInteger(parsed) ? { notebookId, version: parsed } : null;
}
