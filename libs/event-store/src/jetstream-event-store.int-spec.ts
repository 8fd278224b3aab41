import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { headers } from '@nats-io/transport-node';
import { aggregateSubject, qualifyName, streamName, type StreamRef } from '@notebooks/contracts';
import { createTestInfra, type TestInfra } from '@notebooks/testing';
import { createHash, randomUUID } from 'node:crypto';
import { NO_STREAM, type PoisonMessage, type StoredCommit } from './event-store';
import { JetStreamEventStore } from './jetstream-event-store';
import { eventStoreContract } from './testing/event-store.contract';

eventStoreContract(JetStreamEventStore.name, async () => {
  const infra = await createTestInfra();
  const store = await JetStreamEventStore.create(await infra.connectNats(), { namespace: infra.namespace });
  return { store, dispose: () => infra.dispose() };
});

describe(`${JetStreamEventStore.name} on the server`, () => {
  let infra: TestInfra;
  const commit = { events: [{ type: 'notebook.deleted', data: {} }], actorId: 'u1' };
  const newRef = (): StreamRef => ({ category: 'notebooks', id: randomUUID() });
  const count = async (iterable: AsyncIterable<StoredCommit>) => {
    let n = 0;
    for await (const _ of iterable) n++;
    return n;
  };

  beforeAll(async () => {
    infra = await createTestInfra();
  });

  afterAll(() => infra.dispose());

  it('provisions file-backed streams with the configured limits, and provisioning again changes nothing', async () => {
    const nc = await infra.connectNats();
    await Promise.all([
      JetStreamEventStore.create(nc, { namespace: infra.namespace, duplicateWindowMs: 60_000, maxCommitBytes: 500_000 }),
      JetStreamEventStore.create(nc, { namespace: infra.namespace, duplicateWindowMs: 60_000, maxCommitBytes: 500_000 }),
    ]);

    const jsm = await jetstreamManager(nc);
    for (const category of ['notebooks', 'users', 'executions'] as const) {
      const { config, state } = await jsm.streams.info(streamName(infra.namespace, category));
      expect(config).toMatchObject({ storage: StorageType.File, duplicate_window: 60_000 * 1e6, deny_delete: true });
      expect(config.max_msg_size).toBeGreaterThanOrEqual(500_000);
      expect(state.messages).toBe(0);
    }
  });

  it('answers a retry after the duplicate window from the durable record, without a second commit', async () => {
    const store = await JetStreamEventStore.create(await infra.connectNats(), { namespace: infra.namespace, duplicateWindowMs: 200 });
    const ref = newRef();
    const first = await store.append(ref, { ...commit, idempotencyKey: 'late-retry' }, NO_STREAM);
    await new Promise((r) => setTimeout(r, 400));

    const retry = await store.append(ref, { ...commit, idempotencyKey: 'late-retry' }, 'any');
    expect(retry).toEqual({ ...first, duplicate: true });
    expect(await count(store.read(ref))).toBe(1);
  });

  it('finds the commit of a writer that stopped between publishing and recording the key', async () => {
    const nc = await infra.connectNats();
    const store = await JetStreamEventStore.create(nc, { namespace: infra.namespace, duplicateWindowMs: 200 });
    const ref = newRef();
    const first = await store.append(ref, { ...commit, idempotencyKey: 'interrupted' }, NO_STREAM);
    // Put the record back as the writer left it before its publish was acknowledged.
    const hash = createHash('sha256').update('interrupted').digest('hex');
    const kv = await new Kvm(nc).open(qualifyName(infra.namespace, 'IDEMPOTENCY'));
    await kv.put(hash, JSON.stringify({ state: 'pending', ref, afterSequence: 0 }));
    await new Promise((r) => setTimeout(r, 400));

    const retry = await store.append(ref, { ...commit, idempotencyKey: 'interrupted' }, NO_STREAM);
    expect(retry).toEqual({ ...first, duplicate: true });
    expect((await kv.get(hash))?.json()).toEqual({ state: 'complete', ref, sequence: first.sequence });
    expect(await count(store.read(ref))).toBe(1);

    // A pending record whose commit never landed lets the append go ahead.
    const other = newRef();
    await kv.put(createHash('sha256').update('never-landed').digest('hex'), JSON.stringify({ state: 'pending', ref: other, afterSequence: 0 }));
    const landed = await store.append(other, { ...commit, idempotencyKey: 'never-landed' }, NO_STREAM);
    expect(landed).toMatchObject({ duplicate: false, version: 1 });
  });

  it('restarts a durable where it stopped, whatever start sequence the new run asks for', async () => {
    const nc = await infra.connectNats();
    const store = await JetStreamEventStore.create(nc, { namespace: infra.namespace });
    const ref: StreamRef = { category: 'users', id: randomUUID() };
    for (let i = 0; i < 3; i++) await store.append(ref, commit, 'any');
    const name = `restartable-${randomUUID().slice(0, 8)}`;
    const seen: number[] = [];
    const handle = async (batch: { ref: StreamRef; commit: { events: { version: number }[] } }[]) =>
      void seen.push(...batch.filter((c) => c.ref.id === ref.id).map((c) => c.commit.events[0]?.version ?? 0));
    const first = await store.consume({ category: 'users', name, onPoison: async () => undefined, handle });
    while (seen.length < 3) await new Promise((r) => setTimeout(r, 20));
    await first.stop();
    await store.append(ref, commit, 'any');

    const second = await store.consume({ category: 'users', name, startSequence: 1, onPoison: async () => undefined, handle });
    while (seen.length < 4) await new Promise((r) => setTimeout(r, 20));
    await second.stop();
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('leaves no consumer behind after reading an aggregate', async () => {
    const nc = await infra.connectNats();
    const store = await JetStreamEventStore.create(nc, { namespace: infra.namespace });
    const ref = newRef();
    await store.append(ref, commit, NO_STREAM);
    const before = (await (await jetstreamManager(nc)).streams.info(streamName(infra.namespace, 'notebooks'))).state.consumer_count;
    for (let i = 0; i < 5; i++) expect(await count(store.read(ref))).toBe(1);
    const after = (await (await jetstreamManager(nc)).streams.info(streamName(infra.namespace, 'notebooks'))).state.consumer_count;
    expect(after).toBe(before);
  });

  it('reads a whole category with undecodable messages among the commits, and leaves no consumer behind', async () => {
    const nc = await infra.connectNats();
    const store = await JetStreamEventStore.create(nc, { namespace: infra.namespace });
    const jsm = await jetstreamManager(nc);
    const consumers = async () => (await jsm.streams.info(streamName(infra.namespace, 'users'))).state.consumer_count;
    const before = await store.head('users');
    const good: StreamRef = { category: 'users', id: randomUUID() };
    const bad: StreamRef = { category: 'users', id: randomUUID() };
    await store.append(good, commit, NO_STREAM);
    await jetstream(nc).publish(aggregateSubject(infra.namespace, bad), 'not a commit');
    await store.append(good, commit, 'any');
    const idle = await consumers();

    const read = [];
    for await (const item of store.readCategory('users', before, { batchSize: 1 })) read.push(item);
    expect(read.map((c) => [c.ref.id, c.commit === null])).toEqual([
      [good.id, false],
      [bad.id, true],
      [good.id, false],
    ]);
    expect(read[1]).toMatchObject({ subject: aggregateSubject(infra.namespace, bad), error: expect.stringContaining('JSON') });
    expect(new TextDecoder().decode(read[1]?.payload)).toBe('not a commit');
    for await (const _ of store.readCategory('users', before)) break;
    expect(await consumers()).toBe(idle);
  });

  it('follows an aggregate with an undecodable message among its commits, and leaves no consumer behind once closed', async () => {
    const nc = await infra.connectNats();
    const store = await JetStreamEventStore.create(nc, { namespace: infra.namespace });
    const jsm = await jetstreamManager(nc);
    // Executions: no other test here reads that category from its start, so the garbage stays ours.
    const consumers = async () => (await jsm.streams.info(streamName(infra.namespace, 'executions'))).state.consumer_count;
    const ref: StreamRef = { category: 'executions', id: randomUUID() };
    await store.append(ref, commit, NO_STREAM);
    const idle = await consumers();

    const subscription = await store.subscribe(ref, { afterVersion: 0 });
    expect(await consumers()).toBe(idle + 1);
    const seen: (number | null)[] = [];
    const iterating = (async () => {
      for await (const item of subscription) seen.push(item.commit?.events[0]?.version ?? null);
    })();
    await store.append(ref, commit, 'any');
    await jetstream(nc).publish(aggregateSubject(infra.namespace, ref), 'not a commit');
    const deadline = Date.now() + 10_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await subscription.close();
    await iterating;

    expect(seen).toEqual([1, 2, null]);
    expect(await consumers()).toBe(idle);
  });

  it('finds where to follow an aggregate from past an undecodable message, asking the stream leader', async () => {
    const nc = await infra.connectNats();
    const store = await JetStreamEventStore.create(nc, { namespace: infra.namespace });
    const ref: StreamRef = { category: 'executions', id: randomUUID() };
    const other: StreamRef = { category: 'executions', id: randomUUID() };
    for (let n = 1; n <= 3; n++) {
      await store.append(ref, commit, 'any');
      await store.append(other, commit, 'any');
    }
    const garbage = await jetstream(nc).publish(aggregateSubject(infra.namespace, ref), 'not a commit');
    await store.append(ref, commit, { sequence: garbage.seq, version: 3 });
    for (let n = 5; n <= 6; n++) await store.append(ref, commit, 'any');
    const direct = jest.spyOn((await jetstreamManager(nc)).direct, 'getMessage');

    for (const afterVersion of [1, 3, 4, 5]) {
      const subscription = await store.subscribe(ref, { afterVersion });
      const versions: number[] = [];
      for await (const item of subscription) {
        const version = item.commit?.events[0]?.version;
        if (version === undefined) continue; // the garbage itself: a reader skips it
        versions.push(version);
        if (version > afterVersion) break;
      }
      await subscription.close();
      // It may start early (readers skip versions they have), never late.
      expect(versions.at(-1)).toBe(afterVersion + 1);
      expect(versions.slice(0, -1).every((version) => version <= afterVersion)).toBe(true);
    }
    expect(direct).not.toHaveBeenCalled();
  });

  it('reads and follows commits near the size limit', async () => {
    const store = await JetStreamEventStore.create(await infra.connectNats(), { namespace: infra.namespace });
    const ref: StreamRef = { category: 'executions', id: randomUUID() };
    const before = await store.head('executions');
    const large = { events: [{ type: 'cell.updated', data: { cellId: 'c', changes: { value: 'x'.repeat(1000_000) } } }], actorId: 'u1' };
    for (let n = 1; n <= 3; n++) await store.append(ref, large, 'any');

    const read: number[] = [];
    for await (const item of store.readCategory('executions', before)) if (item.ref.id === ref.id) read.push(item.commit?.events[0]?.version ?? 0);
    const followed: number[] = [];
    const subscription = await store.subscribe(ref, { afterVersion: 0 });
    for await (const item of subscription) {
      followed.push(item.commit?.events[0]?.version ?? 0);
      if (followed.length === 3) break;
    }
    await subscription.close();

    expect(read).toEqual([1, 2, 3]);
    expect(followed).toEqual([1, 2, 3]);
  });

  it('parks an undecodable message as poison instead of stopping the consumer', async () => {
    const nc = await infra.connectNats();
    const store = await JetStreamEventStore.create(nc, { namespace: infra.namespace });
    const garbage = newRef();
    const good = newRef();
    const hdrs = headers();
    await jetstream(nc).publish(aggregateSubject(infra.namespace, garbage), 'not json at all', { headers: hdrs });
    await store.append(good, commit, NO_STREAM);
    const parked: PoisonMessage[] = [];
    const handled: string[] = [];
    const consumer = await store.consume({
      category: 'notebooks',
      name: `garbage-${randomUUID().slice(0, 8)}`,
      onPoison: async (message) => void parked.push(message),
      handle: async (batch) => void handled.push(...batch.map((c) => c.ref.id)),
    });
    const deadline = Date.now() + 10_000;
    while (!(parked.length && handled.includes(good.id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await consumer.stop();

    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ aggregateId: garbage.id, deliveryCount: 1 });
    expect(parked[0]?.error).toMatch(/^undecodable commit/);
    expect(new TextDecoder().decode(parked[0]?.payload)).toBe('not json at all');
    expect(handled).toContain(good.id);
  });
});
