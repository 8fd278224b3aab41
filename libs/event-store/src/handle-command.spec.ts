import { defaultEventRegistry, eventDecoder, type Decider, type DomainEvent, type StreamRef } from '@notebooks/contracts';
import { notebookDecider, NotebookRejected, type NotebookState } from '@notebooks/notebook-domain';
import { randomUUID } from 'node:crypto';
import { ConcurrencyError, NO_STREAM, type EventStore, type StoredCommit } from './event-store';
import { AggregateCache, handleCommand, loadAggregate, type CommandEnvelope } from './handle-command';
import { InMemoryEventStore } from './in-memory-event-store';

describe(handleCommand.name, () => {
  const decode = eventDecoder('notebooks');
  /** What notebook-service writes: each event type at its current schema version. */
  const schemaVersions = defaultEventRegistry().writeVersions();
  const owner = randomUUID();
  let store: InMemoryEventStore;
  let ref: StreamRef;

  /** One replica of notebook-service: its own cache over the shared store. */
  const replica = (cache = new AggregateCache<NotebookState>()) => ({
    cache,
    run: (command: CommandEnvelope<Parameters<typeof notebookDecider.decide>[0]>['command'], extra: Partial<CommandEnvelope<never>> = {}) =>
      handleCommand(store, notebookDecider, { ref, command, actorId: owner, ...extra }, { decode, cache, schemaVersions }),
  });
  const create = { type: 'CreateNotebook', ownerId: owner, title: 'Plots', description: null, visibility: 'PRIVATE' } as const;
  const addCell = (cellId = randomUUID()) => ({ type: 'AddCell', cellId, kind: 'JS', value: 'x = 1' }) as const;
  const commits = async (): Promise<StoredCommit[]> => {
    const all: StoredCommit[] = [];
    for await (const commit of store.read(ref)) all.push(commit);
    return all;
  };

  beforeEach(() => {
    store = new InMemoryEventStore();
    ref = { category: 'notebooks', id: randomUUID() };
  });

  it('decides on the folded aggregate and appends at its position', async () => {
    const sut = replica();
    await sut.run(create);
    const result = await sut.run(addCell(), { correlationId: 'c-1' });

    expect(result).toMatchObject({ ref, version: 2, duplicate: false });
    expect(result.events).toEqual([expect.objectContaining({ type: 'cell.created', version: 2, actorId: owner, correlationId: 'c-1' })]);
    expect((await loadAggregate(store, notebookDecider, ref, { decode })).state.cells).toHaveLength(1);
  });

  it('writes nothing for a command that changes nothing', async () => {
    const sut = replica();
    await sut.run(create);
    const result = await sut.run({ type: 'UpdateNotebook', title: 'Plots' });

    expect(result).toEqual({ ref, events: [], version: 1, duplicate: false });
    expect(await commits()).toHaveLength(1);
  });

  it('reports a conflict, with the current version, when the client expected another version', async () => {
    const sut = replica();
    await sut.run(create);
    await sut.run(addCell());

    const conflict = sut.run({ type: 'UpdateNotebook', title: 'New' }, { expectedVersion: 1 });
    await expect(conflict).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(conflict).rejects.toMatchObject({ expectedVersion: 1, actual: { version: 2 } });
    expect(await commits()).toHaveLength(2);
  });

  it('reports a conflict when another replica wrote since this one cached the notebook', async () => {
    const a = replica();
    const b = replica();
    await a.run(create);
    await b.run(addCell());

    await expect(a.run({ type: 'UpdateNotebook', title: 'New' }, { expectedVersion: 1 })).rejects.toMatchObject({
      actual: { version: 2 },
    });
    expect(await a.run({ type: 'UpdateNotebook', title: 'New' }, { expectedVersion: 2 })).toMatchObject({ version: 3 });
  });

  it('catches up and decides again when an unconditioned command meets a concurrent writer', async () => {
    const a = replica();
    const b = replica();
    await a.run(create);
    await b.run(addCell());

    const results = await Promise.all([a.run(addCell()), b.run(addCell()), a.run(addCell())]);
    expect(results.map((r) => r.version).sort()).toEqual([3, 4, 5]);
    expect((await loadAggregate(store, notebookDecider, ref, { decode })).state.cells).toHaveLength(4);
  });

  it('never rejects on a stale cache: a rejection is checked against the stream first', async () => {
    const a = replica();
    const b = replica();
    await a.run(create);
    const cellId = randomUUID();
    await b.run(addCell(cellId));

    const result = await a.run({ type: 'UpdateCell', cellId, value: 'x = 2' });
    expect(result).toMatchObject({ version: 3 });
    await expect(a.run({ type: 'DeleteCell', cellId: randomUUID() })).rejects.toMatchObject({ reason: 'cell-not-found' });
    await expect(replica().run(create)).rejects.toBeInstanceOf(NotebookRejected);
  });

  it('never takes a cached "nothing to do" for granted: an unshare another replica made necessary is written', async () => {
    const a = replica();
    const b = replica();
    await a.run(create);
    const bob = randomUUID();
    await b.run({ type: 'ShareNotebook', userId: bob, role: 'EDITOR' });

    const result = await a.run({ type: 'UnshareNotebook', userId: bob });
    expect(result.events.map((e) => e.type)).toEqual(['notebook.unshared']);
    expect((await loadAggregate(store, notebookDecider, ref, { decode })).state.collaborators).toEqual([]);
  });

  it('lets the decider refuse before a version conflict is reported', async () => {
    const sut = replica();
    await sut.run(create);
    await sut.run(addCell());

    await expect(sut.run({ type: 'DeleteCell', cellId: randomUUID() }, { expectedVersion: 1 })).rejects.toMatchObject({ reason: 'cell-not-found' });
  });

  it('answers a repeated idempotency key with the first result without deciding again', async () => {
    const sut = replica();
    await sut.run(create);
    const cellId = randomUUID();
    await sut.run(addCell(cellId));
    const first = await sut.run({ type: 'DeleteCell', cellId }, { idempotencyKey: 'delete-once' });

    const retry = await replica().run({ type: 'DeleteCell', cellId }, { idempotencyKey: 'delete-once' });
    expect(retry).toEqual({ ...first, duplicate: true });
    expect(await commits()).toHaveLength(3);
  });

  it('gives up after a bounded number of attempts against writers that always win', async () => {
    const racing: EventStore = Object.create(store) as EventStore;
    racing.append = async () => {
      throw new ConcurrencyError(ref, 0, await store.position(ref));
    };
    const counting: Decider<string, DomainEvent, number> = {
      initialState: () => 0,
      decide: () => [{ type: 'notebook.deleted', data: {} }],
      evolve: (n) => n + 1,
    };
    let decisions = 0;
    const decider = { ...counting, decide: (c: string, s: number) => (decisions++, counting.decide(c, s)) };

    await expect(handleCommand(racing, decider, { ref, command: 'go', actorId: null }, { decode: (e) => e, maxAttempts: 3 })).rejects.toBeInstanceOf(
      ConcurrencyError,
    );
    expect(decisions).toBe(3);
    expect(await store.position(ref)).toEqual(NO_STREAM);
  });
});
