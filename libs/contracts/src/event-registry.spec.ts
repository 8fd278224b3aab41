import { z } from 'zod';
import type { EventEnvelope } from './commit';
import {
  type EventDecodeErrorReason,
  type PlatformEvent,
  EventDecodeError,
  EventRegistry,
  defaultEventRegistry,
} from './event-registry';
import { type NotebookCreated, NotebookCreatedV1 } from './notebook-events';

const stored = (type: string, schemaVersion: number, data: unknown): EventEnvelope => ({
  id: 'event-1',
  streamId: 'notebook-1',
  version: 1,
  type,
  schemaVersion,
  occurredAt: '2026-01-01T00:00:00.000Z',
  actorId: 'user-1',
  correlationId: null,
  causationId: null,
  data,
});

function rejectionOf(decode: () => unknown): EventDecodeErrorReason | 'decoded' {
  try {
    decode();
    return 'decoded';
  } catch (error) {
    if (error instanceof EventDecodeError) return error.reason;
    throw error;
  }
}

const createdV1: NotebookCreated = {
  ownerId: 'user-1',
  title: 'Notes',
  description: null,
  visibility: 'PRIVATE',
  forkedFrom: null,
};
const NotebookCreatedV2 = NotebookCreatedV1.extend({ tags: z.array(z.string()) });

/** The default registry after a hypothetical second version of notebook.created. */
const withCreatedV2 = () =>
  defaultEventRegistry()
    .register('notebook.created', 2, NotebookCreatedV2)
    .registerUpcaster('notebook.created', 1, (data: NotebookCreated) => ({ ...data, tags: [] }));

describe(EventRegistry.name, () => {
  it('upcasts a stored v1 event to the current version', () => {
    const sut = withCreatedV2();
    expect(sut.currentVersion('notebook.created')).toBe(2);
    expect(sut.decode(stored('notebook.created', 1, createdV1))).toEqual({
      ...stored('notebook.created', 2, { ...createdV1, tags: [] }),
    });
  });

  it('upcasts step by step across several versions', () => {
    const sut = new EventRegistry()
      .register('counter.set', 1, z.object({ n: z.string() }))
      .register('counter.set', 2, z.object({ n: z.number() }))
      .register('counter.set', 3, z.object({ value: z.number() }))
      .registerUpcaster('counter.set', 1, (data: { n: string }) => ({ n: Number(data.n) }))
      .registerUpcaster('counter.set', 2, (data: { n: number }) => ({ value: data.n }));
    expect(sut.decode(stored('counter.set', 1, { n: '7' }))).toMatchObject({ schemaVersion: 3, data: { value: 7 } });
    expect(sut.decode(stored('counter.set', 2, { n: 7 }))).toMatchObject({ schemaVersion: 3, data: { value: 7 } });
  });

  it('decodes an event of the current version as it is', () => {
    const sut = withCreatedV2();
    const current = stored('notebook.created', 2, { ...createdV1, tags: ['x'] });
    expect(sut.decode(current)).toEqual(current);
  });

  it('rejects an unknown type', () => {
    expect(rejectionOf(() => withCreatedV2().decode(stored('notebook.archived', 1, {})))).toBe('unknown-type');
    expect(() => withCreatedV2().currentVersion('notebook.archived' as PlatformEvent['type'])).toThrow(EventDecodeError);
  });

  it('rejects a version that was never registered', () => {
    expect(rejectionOf(() => withCreatedV2().decode(stored('notebook.created', 3, createdV1)))).toBe('unknown-version');
    expect(rejectionOf(() => defaultEventRegistry().decode(stored('notebook.created', 2, createdV1)))).toBe(
      'unknown-version',
    );
  });

  it('rejects data that does not match its stored version', () => {
    const sut = withCreatedV2();
    expect(rejectionOf(() => sut.decode(stored('notebook.created', 1, { ...createdV1, visibility: 'SECRET' })))).toBe(
      'invalid-data',
    );
    expect(rejectionOf(() => sut.decode(stored('notebook.created', 2, createdV1)))).toBe('invalid-data');
  });

  it('rejects what a faulty upcaster produces', () => {
    const sut = defaultEventRegistry()
      .register('notebook.created', 2, NotebookCreatedV2)
      .registerUpcaster('notebook.created', 1, (data: NotebookCreated) => data);
    expect(rejectionOf(() => sut.decode(stored('notebook.created', 1, createdV1)))).toBe('invalid-data');
  });

  it('rejects an old version with no upcaster to the next', () => {
    const sut = defaultEventRegistry().register('notebook.created', 2, NotebookCreatedV2);
    expect(rejectionOf(() => sut.decode(stored('notebook.created', 1, createdV1)))).toBe('missing-upcaster');
  });

  it('keeps published versions frozen: versions register once, in order', () => {
    expect(() => defaultEventRegistry().register('notebook.created', 1, NotebookCreatedV2)).toThrow(/out of order/);
    expect(() => defaultEventRegistry().register('notebook.created', 3, NotebookCreatedV2)).toThrow(/out of order/);
    expect(() => withCreatedV2().registerUpcaster('notebook.created', 1, (data) => data)).toThrow(/already registered/);
  });

  describe(defaultEventRegistry.name, () => {
    const samples: { [T in PlatformEvent['type']]: Extract<PlatformEvent, { type: T }>['data'] } = {
      'notebook.created': createdV1,
      'notebook.updated': { title: 'Renamed', description: null },
      'notebook.deleted': {},
      'notebook.forked': { forkId: 'notebook-2', forkedBy: 'user-2', atVersion: 3 },
      'notebook.restored': {
        toVersion: 2,
        title: 'Notes',
        description: null,
        cells: [{ cellId: 'cell-1', kind: 'JS', value: 'x = 1', isClosed: false }],
      },
      'notebook.shared': { userId: 'user-2', role: 'EDITOR' },
      'notebook.unshared': { userId: 'user-2' },
      'cell.created': { cellId: 'cell-1', kind: 'MARKDOWN', value: '# Hi', position: 0, isClosed: false },
      'cell.updated': { cellId: 'cell-1', changes: { isClosed: true } },
      'cell.moved': { cellId: 'cell-1', position: 2 },
      'cell.deleted': { cellId: 'cell-1' },
      'cell.executed': {
        cellId: 'cell-1',
        notebookVersion: 4,
        status: 'OK',
        display: '{a: 1}',
        value: { a: 1 },
        html: null,
        error: null,
        durationMs: 1.5,
        executedAt: '2026-01-01T00:00:00.000Z',
      },
      'cell.failed': {
        cellId: 'cell-1',
        notebookVersion: 4,
        status: 'TIMEOUT',
        display: null,
        value: null,
        html: null,
        error: 'timed out after 5000 ms',
        durationMs: 5000,
        executedAt: '2026-01-01T00:00:05.000+02:00',
      },
      'user.registered': { email: 'ada@example.com', displayName: 'Ada' },
      'user.updated': { displayName: 'Ada L.' },
    };

    it.each(Object.entries(samples))('decodes %s at the version it is written with', (type, data) => {
      const sut = defaultEventRegistry();
      const version = sut.writeVersions()[type] ?? 0;
      expect(sut.decode(stored(type, version, data))).toEqual(stored(type, version, data));
    });

    it('reads cell.updated v1 as v2: the same change, under `changes`', () => {
      const sut = defaultEventRegistry();
      expect(sut.writeVersions()['cell.updated']).toBe(2);
      expect(sut.decode(stored('cell.updated', 1, { cellId: 'cell-1', value: 'x = 2', isClosed: true }))).toEqual(
        stored('cell.updated', 2, { cellId: 'cell-1', changes: { value: 'x = 2', isClosed: true } }),
      );
      // A v1 update that changed nothing has no v2 form: it is refused, not silently emptied.
      expect(rejectionOf(() => sut.decode(stored('cell.updated', 1, { cellId: 'cell-1' })))).toBe('invalid-data');
      expect(rejectionOf(() => sut.decode(stored('cell.updated', 2, { cellId: 'cell-1', changes: {} })))).toBe('invalid-data');
    });

    it('rejects an execution result whose status contradicts its type', () => {
      const sut = defaultEventRegistry();
      expect(rejectionOf(() => sut.decode(stored('cell.executed', 1, samples['cell.failed'])))).toBe('invalid-data');
      expect(rejectionOf(() => sut.decode(stored('cell.failed', 1, samples['cell.executed'])))).toBe('invalid-data');
    });

    it('narrows data by type', () => {
      const decoded = defaultEventRegistry().decode(stored('cell.moved', 1, samples['cell.moved']));
      expect(decoded.type === 'cell.moved' && decoded.data.position).toBe(2);
    });
  });
});
