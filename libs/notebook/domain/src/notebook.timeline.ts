import { defaultEventRegistry, eventDecoder, type NotebookEvent } from '@notebooks/contracts';
import { evolve, initialState, type NotebookState } from './notebook.decider';

const registry = defaultEventRegistry();
const decode = eventDecoder('notebooks', registry);

/**
 * A notebook event as history keeps it (type and data at the type's current schema version), checked
 * again on the way out: a row that no longer matches its schema fails loudly instead of folding wrong.
 */
export function historyEvent(type: string, data: unknown): NotebookEvent {
  const schemaVersion = registry.currentVersion(type as NotebookEvent['type']);
  const envelope = { id: '-', streamId: '-', version: 1, type, schemaVersion, occurredAt: '', actorId: null, correlationId: null, causationId: null, data };
  return decode(envelope);
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
  readonly type: string;
  readonly data: unknown;
  readonly occurredAt: string;
}

/** A stored moment (or the beginning) folded on with the history rows that follow it, in order. */
export function momentAfter(base: NotebookMoment | null, rows: readonly HistoryRow[]): NotebookMoment {
  return rows.reduce((moment, row) => advanceMoment(moment, historyEvent(row.type, row.data), row.occurredAt), base ?? initialMoment());
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
