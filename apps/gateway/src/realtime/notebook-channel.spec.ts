import { eventDecoder, type DomainEvent, type StreamRef } from '@notebooks/contracts';
import { InMemoryEventStore } from '@notebooks/event-store';
import { randomUUID } from 'node:crypto';
import type { Cell, NotebookEvent } from '../notebooks/notebook.models';
import { SlowConsumer } from './live-subscription';
import { evolveAccess, type NotebookAccess } from './notebook-access';
import { NotebookChannel, type ChannelDeps } from './notebook-channel';

const ada = randomUUID();
const bob = randomUUID();
const created = (visibility: 'PRIVATE' | 'PUBLIC' = 'PRIVATE'): DomainEvent => ({
  type: 'notebook.created',
  data: { ownerId: ada, title: 'T', description: null, visibility, forkedFrom: null },
});
const edit = (n: number): DomainEvent => ({ type: 'notebook.updated', data: { title: `T${n}` } });

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

async function take<Out>(subscription: AsyncIterator<Out>, count: number): Promise<Out[]> {
  const items: Out[] = [];
  while (items.length < count) {
    const next = await subscription.next();
    if (next.done) throw new Error(`ended after ${items.length} items`);
    items.push(next.value);
  }
  return items;
}

const versionsOf = (events: NotebookEvent[]) => events.map((event) => event.version);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe(NotebookChannel.name, () => {
  let store: InMemoryEventStore;
  let ref: StreamRef;
  let sut: NotebookChannel;
  let idle: number;
  let errors: string[];
  const cells: Cell[] = [];
  const decode = eventDecoder('notebooks');

  const deps = (overrides: Partial<ChannelDeps> = {}): ChannelDeps => ({
    store,
    cells: async () => cells,
    log: { warn: () => undefined, error: (message) => void errors.push(message) },
    maxQueuedEvents: 100,
    ...overrides,
  });
  const append = (...events: DomainEvent[]) => store.append(ref, { events, actorId: ada }, 'any');
  /** A channel opened on the notebook as it is now, from the access its events give (what the read model would show). */
  const open = async (overrides: Partial<ChannelDeps> = {}) => {
    let access: NotebookAccess | null = null;
    let version = 0;
    for await (const { commit } of store.read(ref)) {
      for (const envelope of commit.events) access = evolveAccess(access, decode(envelope));
      version = commit.events.at(-1)?.version ?? version;
    }
    if (!access) throw new Error('no notebook');
    sut = await NotebookChannel.open(ref.id, { version, access }, deps(overrides), {
      onIdle: () => void idle++,
      onBroken: () => void errors.push('the channel broke'),
    });
    return sut;
  };

  beforeEach(async () => {
    store = new InMemoryEventStore();
    ref = { category: 'notebooks', id: randomUUID() };
    idle = 0;
    errors = [];
  });

  afterEach(async () => {
    await sut.close();
    expect(errors).toEqual([]);
  });

  it('hands a subscriber over from the log to the live feed with no gap and no duplicate, however appends interleave', async () => {
    await append(created());
    for (let n = 2; n <= 20; n += 2) await append(edit(n), edit(n + 1)); // two-event commits: versions 2..21
    await open();
    const subscribe = jest.spyOn(store, 'subscribe');
    const subscription = sut.events(ada, 4, {});
    for (let n = 22; n <= 24; n++) await append(edit(n)); // live, while nothing is read yet

    const first = await take(subscription, 5);
    await append(edit(25));
    const rest = await take(subscription, 16);

    expect(versionsOf([...first, ...rest])).toEqual(range(5, 25));
    expect(subscribe).toHaveBeenCalledWith(ref, { afterVersion: 4 }); // the catch-up read the log
  });

  it('catches up from its recent events when they reach back far enough, without the log', async () => {
    await append(created());
    await open();
    const witness = sut.events(ada, null);
    for (let n = 2; n <= 10; n++) await append(edit(n));
    await take(witness, 9); // the channel has them all
    const subscribe = jest.spyOn(store, 'subscribe');
    const subscription = sut.events(ada, 6);
    await append(edit(11));

    expect(versionsOf(await take(subscription, 5))).toEqual(range(7, 11));
    expect(subscribe).not.toHaveBeenCalled();
  });

  it('streams from now on without afterVersion, and waits for versions a client is ahead by', async () => {
    await append(created());
    await append(edit(2));
    await open();
    const now = sut.events(ada, null);
    const ahead = sut.events(ada, 4);
    for (let n = 3; n <= 5; n++) await append(edit(n));

    expect(versionsOf(await take(now, 3))).toEqual([3, 4, 5]);
    expect(versionsOf(await take(ahead, 1))).toEqual([5]);
  });

  it('shows a notebook event in the form history has for members, and another for other readers', async () => {
    await append(created('PUBLIC'));
    await open();
    await store.append(ref, { events: [{ type: 'notebook.shared', data: { userId: bob, role: 'VIEWER' } }], actorId: ada }, 'any');
    const stranger = randomUUID();
    const [asMember] = await take(sut.events(bob, 1), 1);
    const [asOther] = await take(sut.events(stranger, 1), 1);

    expect(asMember).toEqual({ notebookId: ref.id, version: 2, type: 'notebook.shared', occurredAt: expect.any(Date), actorId: ada, member: true, data: { userId: bob, role: 'VIEWER' } });
    expect(asOther).toEqual({ ...asMember, member: false });
  });

  it('turns away a viewer who may not read the notebook, and ends the streams of one who loses access at once, even mid catch-up', async () => {
    await append(created());
    for (let n = 2; n <= 5; n++) await append(edit(n));
    await store.append(ref, { events: [{ type: 'notebook.shared', data: { userId: bob, role: 'EDITOR' } }], actorId: ada }, 'any');
    await open();
    expect(thrown(() => sut.events(randomUUID(), 0))).toMatchObject({ message: 'notebook not found', extensions: { code: 'NOT_FOUND' } });

    const catchingUp = sut.events(bob, 0);
    await take(catchingUp, 2);
    const live = sut.events(bob, null);
    const outputs = await sut.outputs(bob);
    const owner = sut.events(ada, null);
    await store.append(ref, { events: [{ type: 'notebook.unshared', data: { userId: bob } }], actorId: ada }, 'any');
    await append(edit(8));
    expect(versionsOf(await take(owner, 2))).toEqual([7, 8]); // the channel applied both

    for (const ended of [catchingUp, live, outputs]) {
      await expect(ended.next()).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
      expect(await ended.next()).toEqual({ value: undefined, done: true });
    }
    expect(thrown(() => sut.events(bob, null))).toMatchObject({ extensions: { code: 'NOT_FOUND' } });
  });

  it('disconnects a subscriber that falls further behind than its buffer, and only that one', async () => {
    await append(created());
    await open({ maxQueuedEvents: 3 });
    const overflowed: SlowConsumer[] = [];
    const slow = sut.events(ada, null, { onOverflow: (error) => void overflowed.push(error) });
    const reader = sut.events(ada, null);
    for (let n = 2; n <= 6; n++) {
      await append(edit(n));
      await take(reader, 1);
    }

    expect(overflowed).toEqual([new SlowConsumer(3)]);
    await expect(slow.next()).rejects.toBeInstanceOf(SlowConsumer);
    expect(await slow.next()).toEqual({ value: undefined, done: true });
    await append(edit(7));
    expect(versionsOf(await take(reader, 1))).toEqual([7]);
  });

  it('ends a subscriber waiting for its next event at once when it is returned, and reports the channel idle', async () => {
    await append(created());
    await open();
    const closed: string[] = [];
    const subscription = sut.events(ada, null, { onClose: () => void closed.push('events') });
    const waiting = subscription.next();
    await subscription.return();

    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(closed).toEqual(['events']);
    expect(idle).toBe(1);
    expect(sut.subscriberCount).toBe(0);
  });

  it('ends a subscriber with UNAVAILABLE rather than pass over a gap in the versions, live or in its catch-up', async () => {
    await append(created());
    await append(edit(2));
    await open();
    const live = sut.events(ada, null);
    const catchingUp = sut.events(ada, 0);
    const { sequence } = await store.position(ref);
    await store.append(ref, { events: [edit(7)], actorId: ada }, { sequence, version: 6 }); // version 7 after 2

    expect(versionsOf(await take(catchingUp, 2))).toEqual([1, 2]);
    for (const ended of [live, catchingUp]) {
      await expect(ended.next()).rejects.toMatchObject({ extensions: { code: 'UNAVAILABLE' } });
      expect(await ended.next()).toEqual({ value: undefined, done: true });
    }
    expect(errors).toEqual([`notebook ${ref.id} jumped from version 2 to 7`]);
    errors = [];
  });

  it('streams execution results as the cells they ran, with their output', async () => {
    const cellId = randomUUID();
    cells.splice(0, cells.length, {
      id: cellId,
      notebookId: ref.id,
      kind: 'JS',
      value: 'x = 1',
      position: 0,
      isClosed: false,
      name: 'x',
      references: [],
      createdAt: new Date(0),
      updatedAt: new Date(0),
    });
    await append(created());
    await open();
    const outputs = await sut.outputs(ada);
    const executedAt = '2026-01-02T03:04:05.000Z';
    const run = { cellId, notebookVersion: 1, display: '1', value: 1, html: null, durationMs: 2, executedAt };
    await store.append({ category: 'executions', id: ref.id }, { events: [{ type: 'cell.executed', data: { ...run, status: 'OK', error: null } }], actorId: null }, 'any');

    const [cell] = await take(outputs, 1);
    expect(cell).toEqual({ ...cells[0], output: { status: 'OK', display: '1', value: 1, html: null, error: null, durationMs: 2, notebookVersion: 1, executedAt: new Date(executedAt) } });
  });
});
