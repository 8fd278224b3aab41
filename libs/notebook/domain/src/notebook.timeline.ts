import { defaultEventRegistry, eventDecoder, type NotebookEvent } from '@notebooks/contracts';
import { evolve, initialState, type NotebookState } from './notebook.decider';

const registry = defaultEventRegistry();
const decode = eventDecoder('notebooks', registry);

/**
 * A notebook event as history keeps it (type, data and the schema version the data is in), validated
 * and upcast to the current version on the way out: a row that no longer matches its schema fails
 * loudly instead of folding wrong.
 */
export function historyEvent(type: string, schemaVersion: number, data: unknown): NotebookEvent {
  const envelope = { id: '-', streamId: '-', version: 1, type, schemaVersion, occurredAt: '', actorId: null, correlationId: null, causationId: null, data };
  return decode(envelope);
}

/** The current layout of a stored {@link NotebookMoment}; stored moments in another are not used. */
export const NOTEBOOK_MOMENT_FORMAT = 1;

/** The history read model lacks events a fold needs (projected before history existed, say). */
export class IncompleteHistory extends Error {
  override readonly name = 'IncompleteHistory';

  constructor(from: number, to: number) {
    super(`the history lacks events between versions ${from} and ${to}`);
  }
}

/** When a cell was created and last changed (edited or moved), as ISO timestamps. */
export interface CellTimes {
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * A notebook as it was at a version, with what a reader of its past wants beyond the decider's
 * state: when that version was reached and when each cell was created and last changed. JSON-safe,
 * so projections can store it as a periodic snapshot and fold on from there.
 */
export interface NotebookMoment {
  readonly state: NotebookState;
  /** When the version was reached; null before the first event. */
  readonly at: string | null;
  readonly cellTimes: Readonly<Record<string, CellTimes>>;
}

export function initialMoment(): NotebookMoment {
  return { state: initialState(), at: null, cellTimes: {} };
}

/** The moment after one more event, occurred at `occurredAt`. Mirrors how the read model dates cells. */
export function advanceMoment(moment: NotebookMoment, event: NotebookEvent, occurredAt: string): NotebookMoment {
  const state = evolve(moment.state, event);
  return { state, at: occurredAt, cellTimes: cellTimesAfter(moment.cellTimes, event, occurredAt, state) };
}

/** An event as the history read model keeps it. */
export interface HistoryRow {
  readonly version: number;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly occurredAt: string;
}

/**
 * The notebook at `version`: a stored moment at or before it (or the beginning) folded on with the
 * history rows after it, which must be every version up to `version`, in order (IncompleteHistory).
 */
export function momentAt(base: { version: number; moment: NotebookMoment } | null, rows: readonly HistoryRow[], version: number): NotebookMoment {
  const from = base?.version ?? 0;
  if (rows.length !== version - from || rows.some((row, index) => row.version !== from + index + 1)) throw new IncompleteHistory(from, version);
  return rows.reduce((moment, row) => advanceMoment(moment, historyEvent(row.type, row.schemaVersion, row.data), row.occurredAt), base?.moment ?? initialMoment());
}

function cellTimesAfter(times: Readonly<Record<string, CellTimes>>, event: NotebookEvent, at: string, state: NotebookState): Record<string, CellTimes> {
  switch (event.type) {
    case 'cell.created':
      return { ...times, [event.data.cellId]: { createdAt: at, updatedAt: at } };
    case 'cell.updated':
    case 'cell.moved': {
      const cell = times[event.data.cellId];
      return cell ? { ...times, [event.data.cellId]: { ...cell, updatedAt: at } } : { ...times };
    }
    case 'cell.deleted': {
      const { [event.data.cellId]: _deleted, ...rest } = times;
      return rest;
    }
    case 'notebook.restored':
      // A restore recreates the cells it brings back, as the read model does.
      return Object.fromEntries(state.cells.map((cell) => [cell.cellId, { createdAt: at, updatedAt: at }]));
    default:
      return { ...times };
  }
}
