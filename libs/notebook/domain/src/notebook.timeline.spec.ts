import { randomUUID } from 'node:crypto';
import { advanceMoment, historyEvent, IncompleteHistory, initialMoment, momentAt, type HistoryRow } from './notebook.timeline';

const owner = randomUUID();
const [a, b] = [randomUUID(), randomUUID()];
const row = (version: number, type: string, data: unknown, schemaVersion = 1): HistoryRow => ({
  version,
  type,
  schemaVersion,
  data,
  occurredAt: `2026-01-01T00:00:0${version}.000Z`,
});
const rows: HistoryRow[] = [
  row(1, 'notebook.created', { ownerId: owner, title: 'T', description: null, visibility: 'PRIVATE', forkedFrom: null }),
  row(2, 'cell.created', { cellId: a, kind: 'JS', value: 'x = 1', position: 0, isClosed: false }),
  row(3, 'cell.created', { cellId: b, kind: 'JS', value: 'y = x', position: 1, isClosed: false }),
  row(4, 'cell.updated', { cellId: a, changes: { value: 'x = 2' } }, 2),
  row(5, 'cell.moved', { cellId: b, position: 0 }),
  row(6, 'cell.deleted', { cellId: a }),
];

describe('the notebook timeline', () => {
  it('folds history into the state, when it was reached, and when each cell was created and last changed', () => {
    const moment = momentAt(null, rows.slice(0, 5), 5);
    expect(moment.state).toMatchObject({ version: 5, title: 'T', cells: [{ cellId: b }, { cellId: a, value: 'x = 2' }] });
    expect(moment.at).toBe('2026-01-01T00:00:05.000Z');
    expect(moment.cellTimes).toEqual({
      [a]: { createdAt: '2026-01-01T00:00:02.000Z', updatedAt: '2026-01-01T00:00:04.000Z' },
      [b]: { createdAt: '2026-01-01T00:00:03.000Z', updatedAt: '2026-01-01T00:00:05.000Z' },
    });
    expect(Object.keys(momentAt({ version: 5, moment }, rows.slice(5), 6).cellTimes)).toEqual([b]);
  });

  it('continues from a stored moment exactly as from the beginning, also through JSON', () => {
    const stored = JSON.parse(JSON.stringify(momentAt(null, rows.slice(0, 3), 3)));
    expect(momentAt({ version: 3, moment: stored }, rows.slice(3), 6)).toEqual(momentAt(null, rows, 6));
  });

  it('reads rows kept at an older schema version through their upcaster', () => {
    const v1 = rows.map((r) => (r.version === 4 ? row(4, 'cell.updated', { cellId: a, value: 'x = 2' }, 1) : r));
    expect(momentAt(null, v1, 6)).toEqual(momentAt(null, rows, 6));
  });

  it('refuses to fold a history with holes, or one that stops short', () => {
    expect(() => momentAt(null, [rows[0], rows[2]].filter((r) => r !== undefined), 3)).toThrow(IncompleteHistory);
    expect(() => momentAt(null, rows.slice(0, 4), 5)).toThrow(IncompleteHistory);
    expect(() => momentAt({ version: 2, moment: initialMoment() }, rows.slice(3), 6)).toThrow(IncompleteHistory);
  });

  it('dates every cell a restore brings back at the restore', () => {
    const before = momentAt(null, rows.slice(0, 3), 3);
    const restore = historyEvent('notebook.restored', 1, { toVersion: 2, title: 'T', description: null, cells: [{ cellId: a, kind: 'JS', value: 'x = 1', isClosed: false }] });
    const restored = advanceMoment(before, restore, '2026-01-02T00:00:00.000Z');
    expect(restored.cellTimes).toEqual({ [a]: { createdAt: '2026-01-02T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z' } });
  });

  it('refuses a history row that does not match its schema', () => {
    expect(() => historyEvent('cell.moved', 1, { cellId: a })).toThrow(/cannot decode cell.moved/);
    expect(() => historyEvent('cell.teleported', 1, {})).toThrow(/unknown-type/);
  });
});
