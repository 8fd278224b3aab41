import { randomUUID } from 'node:crypto';
import { advanceMoment, historyEvent, initialMoment, momentAfter, type HistoryRow } from './notebook.timeline';

const owner = randomUUID();
const [a, b] = [randomUUID(), randomUUID()];
const rows: HistoryRow[] = [
  { type: 'notebook.created', data: { ownerId: owner, title: 'T', description: null, visibility: 'PRIVATE', forkedFrom: null }, occurredAt: '2026-01-01T00:00:01.000Z' },
  { type: 'cell.created', data: { cellId: a, kind: 'JS', value: 'x = 1', position: 0, isClosed: false }, occurredAt: '2026-01-01T00:00:02.000Z' },
  { type: 'cell.created', data: { cellId: b, kind: 'JS', value: 'y = x', position: 1, isClosed: false }, occurredAt: '2026-01-01T00:00:03.000Z' },
  { type: 'cell.updated', data: { cellId: a, changes: { value: 'x = 2' } }, occurredAt: '2026-01-01T00:00:04.000Z' },
  { type: 'cell.moved', data: { cellId: b, position: 0 }, occurredAt: '2026-01-01T00:00:05.000Z' },
  { type: 'cell.deleted', data: { cellId: a }, occurredAt: '2026-01-01T00:00:06.000Z' },
];

describe('the notebook timeline', () => {
  it('folds history into the state, when it was reached, and when each cell was created and last changed', () => {
    const moment = momentAfter(null, rows.slice(0, 5));
    expect(moment.state).toMatchObject({ version: 5, title: 'T', cells: [{ cellId: b }, { cellId: a, value: 'x = 2' }] });
    expect(moment.at).toBe('2026-01-01T00:00:05.000Z');
    expect(moment.cellTimes).toEqual({
      [a]: { createdAt: '2026-01-01T00:00:02.000Z', updatedAt: '2026-01-01T00:00:04.000Z' },
      [b]: { createdAt: '2026-01-01T00:00:03.000Z', updatedAt: '2026-01-01T00:00:05.000Z' },
    });
    expect(Object.keys(momentAfter(moment, rows.slice(5)).cellTimes)).toEqual([b]);
  });

  it('continues from a stored moment exactly as from the beginning, also through JSON', () => {
    const stored = JSON.parse(JSON.stringify(momentAfter(null, rows.slice(0, 3))));
    expect(momentAfter(stored, rows.slice(3))).toEqual(momentAfter(null, rows));
  });

  it('dates every cell a restore brings back at the restore', () => {
    const before = momentAfter(null, rows.slice(0, 3));
    const restored = advanceMoment(before, historyEvent('notebook.restored', { toVersion: 2, title: 'T', description: null, cells: [{ cellId: a, kind: 'JS', value: 'x = 1', isClosed: false }] }), '2026-01-02T00:00:00.000Z');
    expect(restored.cellTimes).toEqual({ [a]: { createdAt: '2026-01-02T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z' } });
    expect(initialMoment().state.version).toBe(0);
  });

  it('refuses a history row that does not match its schema', () => {
    expect(() => historyEvent('cell.moved', { cellId: a })).toThrow(/cannot decode cell.moved/);
    expect(() => historyEvent('cell.teleported', {})).toThrow(/unknown-type/);
  });
});
