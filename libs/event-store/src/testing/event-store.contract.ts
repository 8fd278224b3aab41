import type { DomainEvent, StreamRef } from '@notebooks/contracts';
import { randomUUID } from 'node:crypto';
import {
  CommitTooLargeError,
  ConcurrencyError,
  NO_STREAM,
  RetryLater,
  type CategoryCommit,
  type CommitSubscription,
  type DeliveredCommit,
  type EventStore,
  type NewCommit,
  type PoisonMessage,
  type RunningConsumer,
  type StoredCommit,
} from '../event-store';

export interface ContractSubject {
  store: EventStore;
  dispose(): Promise<void>;
}

const event = (n: number): DomainEvent => ({ type: 'cell.updated', data: { cellId: 'c', changes: { value: `v${n}` } } });
const commitOf = (...events: DomainEvent[]): NewCommit => ({ events, actorId: 'user-1', correlationId: 'corr-1' });
const newRef = (): StreamRef => ({ category: 'notebooks', id: randomUUID() });

async function collect(iterable: AsyncIterable<StoredCommit>): Promise<StoredCommit[]> {
  const all: StoredCommit[] = [];
  for await (const item of iterable) all.push(item);
  return all;
}

async function collectCategory(iterable: AsyncIterable<CategoryCommit>): Promise<CategoryCommit[]> {
  const all: CategoryCommit[] = [];
  for await (const item of iterable) all.push(item);
  return all;
}

/** Iterates a subscription in the background: what it yielded so far, and `stop()` that closes it and waits for the iteration to end. */
function follow(subscription: CommitSubscription) {
  const seen: CategoryCommit[] = [];
  const iterating = (async () => {
    for await (const item of subscription) seen.push(item);
  })();
  return {
    seen,
    versions: () => seen.map((c) => c.commit?.events.map((e) => e.version)),
    stop: async () => {
      await subscription.close();
      await iterating;
    },
  };
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The behaviour every `EventStore` adapter must have; run by each adapter's spec. */
export function eventStoreContract(name: string, create: () => Promise<ContractSubject>): void {
  describe(`${name} (EventStore contract)`, () => {
    let subject: ContractSubject;
    let store: EventStore;
    const consumers: RunningConsumer[] = [];

    beforeAll(async () => {
      subject = await create();
      store = subject.store;
    });

    afterAll(async () => {
      await Promise.all(consumers.map((c) => c.stop()));
      await subject.dispose();
    });

    describe('append and read', () => {
      it('writes a command\'s events as one commit with consecutive versions and the envelope metadata', async () => {
        const ref = newRef();
        const result = await store.append(ref, { ...commitOf(event(1), event(2)), occurredAt: new Date('2026-01-02T03:04:05Z') }, NO_STREAM);

        expect(result).toMatchObject({ ref, version: 2, duplicate: false });
        expect(result.events.map((e) => e.version)).toEqual([1, 2]);
        const [stored] = await collect(store.read(ref));
        expect(stored?.sequence).toBe(result.sequence);
        expect(stored?.commit.events[1]).toMatchObject({
          streamId: ref.id,
          version: 2,
          type: 'cell.updated',
          // Not named by the writer: the version the platform writes this type with now.
          schemaVersion: 2,
          occurredAt: '2026-01-02T03:04:05.000Z',
          actorId: 'user-1',
          correlationId: 'corr-1',
          data: { cellId: 'c', changes: { value: 'v2' } },
        });
        expect(await store.position(ref)).toEqual({ sequence: result.sequence, version: 2 });
      });

      it('reads an aggregate\'s commits in order, optionally after a sequence, and nothing of other aggregates', async () => {
        const ref = newRef();
        const other = newRef();
        let position = NO_STREAM;
        const sequences: number[] = [];
        for (let i = 1; i <= 5; i++) {
          const r = await store.append(ref, commitOf(event(i)), position);
          await store.append(other, commitOf(event(i)), 'any');
          position = { sequence: r.sequence, version: r.version };
          sequences.push(r.sequence);
        }

        const all = await collect(store.read(ref));
        expect(all.map((c) => c.sequence)).toEqual(sequences);
        expect(all.map((c) => c.commit.events[0]?.version)).toEqual([1, 2, 3, 4, 5]);
        expect(all.every((c) => c.commit.streamId === ref.id)).toBe(true);
        expect((await collect(store.read(ref, sequences[2]))).map((c) => c.sequence)).toEqual(sequences.slice(3));
        expect(await collect(store.read(ref, sequences[4]))).toEqual([]);
        expect(await collect(store.read(newRef()))).toEqual([]);
      });

      it('rejects a stale expectation with the current version and writes nothing', async () => {
        const ref = newRef();
        const first = await store.append(ref, commitOf(event(1)), NO_STREAM);
        await store.append(ref, commitOf(event(2)), { sequence: first.sequence, version: 1 });

        const stale = store.append(ref, commitOf(event(3)), { sequence: first.sequence, version: 1 });
        await expect(stale).rejects.toBeInstanceOf(ConcurrencyError);
        await expect(stale).rejects.toMatchObject({ actual: { version: 2 }, expectedVersion: 1 });
        await expect(store.append(ref, commitOf(event(3)), NO_STREAM)).rejects.toMatchObject({ actual: { version: 2 } });
        expect(await collect(store.read(ref))).toHaveLength(2);
      });

      it('lets exactly one of two concurrent appends with the same expectation win', async () => {
        const ref = newRef();
        const results = await Promise.allSettled([
          store.append(ref, commitOf(event(1)), NO_STREAM),
          store.append(ref, commitOf(event(2)), NO_STREAM),
        ]);

        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const failure = results.find((r) => r.status === 'rejected');
        expect(failure?.status === 'rejected' && failure.reason).toBeInstanceOf(ConcurrencyError);
        expect(await collect(store.read(ref))).toHaveLength(1);
      });

      it('appends after whatever is there with "any", even against concurrent writers', async () => {
        const ref = newRef();
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.append(ref, commitOf(event(i)), 'any')));

        expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        const versions = (await collect(store.read(ref))).map((c) => c.commit.events[0]?.version);
        expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      });

      it('stores 50 concurrent appends of one idempotency key once, and each gets that commit', async () => {
        const ref = newRef();
        const key = `key-${randomUUID()}`;
        const results = await Promise.all(
          Array.from({ length: 50 }, () => store.append(ref, { ...commitOf(event(1)), idempotencyKey: key }, NO_STREAM)),
        );

        expect(await collect(store.read(ref))).toHaveLength(1);
        expect(new Set(results.map((r) => r.sequence)).size).toBe(1);
        expect(new Set(results.map((r) => r.events[0]?.id)).size).toBe(1);
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      });

      it('answers a late retry of an idempotency key with the first result, whatever it expects now', async () => {
        const ref = newRef();
        const key = `key-${randomUUID()}`;
        const first = await store.append(ref, { ...commitOf(event(1)), idempotencyKey: key }, NO_STREAM);
        await store.append(ref, commitOf(event(2)), 'any');

        const retry = await store.append(ref, { ...commitOf(event(1)), idempotencyKey: key }, NO_STREAM);
        expect(retry).toEqual({ ...first, duplicate: true });
        expect(await store.findByIdempotencyKey(key)).toEqual({ ...first, duplicate: true });
        expect(await store.findByIdempotencyKey(`never-${randomUUID()}`)).toBeUndefined();
        expect(await collect(store.read(ref))).toHaveLength(2);
      });

      it('refuses a commit larger than the log accepts, and an aggregate id that is not a subject token', async () => {
        const ref = newRef();
        const huge: DomainEvent = { type: 'cell.updated', data: { value: 'x'.repeat(2 * 1024 * 1024) } };
        await expect(store.append(ref, commitOf(huge), NO_STREAM)).rejects.toBeInstanceOf(CommitTooLargeError);
        await expect(store.append({ category: 'notebooks', id: 'a.b' }, commitOf(event(1)), NO_STREAM)).rejects.toThrow(
          'invalid aggregate id',
        );
        expect(await store.position(ref)).toEqual(NO_STREAM);
      });
    });

    describe('reading a whole category', () => {
      it('knows the head of each category: its last sequence, moved only by appends to it', async () => {
        const ref: StreamRef = { category: 'executions', id: randomUUID() };
        const first = await store.append(ref, commitOf(event(1)), NO_STREAM);
        expect(await store.head('executions')).toBe(first.sequence);

        const usersBefore = await store.head('users');
        const second = await store.append(ref, commitOf(event(2)), 'any');
        expect(await store.head('executions')).toBe(second.sequence);
        expect(await store.head('users')).toBe(usersBefore);
      });

      it('reads every aggregate of a category in stream order after a sequence, and nothing of other categories', async () => {
        const before = await store.head('executions');
        const refs = [randomUUID(), randomUUID(), randomUUID()].map((id): StreamRef => ({ category: 'executions', id }));
        const written: { sequence: number; id: string; version: number }[] = [];
        for (let i = 0; i < 9; i++) {
          const ref = refs[i % refs.length] as StreamRef;
          const result = await store.append(ref, commitOf(event(i)), 'any');
          written.push({ sequence: result.sequence, id: ref.id, version: result.version });
          if (i % 4 === 0) await store.append({ category: 'users', id: randomUUID() }, commitOf(event(i)), NO_STREAM);
        }

        const read = await collectCategory(store.readCategory('executions', before, { batchSize: 2 }));
        expect(read.map((c) => ({ sequence: c.sequence, id: c.ref.id, version: c.commit?.events.at(-1)?.version }))).toEqual(written);
        expect(read.every((c) => c.ref.category === 'executions' && c.commit?.streamId === c.ref.id && c.subject.endsWith(`executions.${c.ref.id}`))).toBe(true);
        expect(JSON.parse(new TextDecoder().decode(read[0]?.payload)).streamId).toBe(written[0]?.id);

        const fromMiddle = await collectCategory(store.readCategory('executions', written[4]?.sequence ?? 0));
        expect(fromMiddle.map((c) => c.sequence)).toEqual(written.slice(5).map((w) => w.sequence));
        const bounded = await collectCategory(store.readCategory('executions', before, { toSequence: written[2]?.sequence }));
        expect(bounded.map((c) => c.sequence)).toEqual(written.slice(0, 3).map((w) => w.sequence));
        expect(await collectCategory(store.readCategory('executions', await store.head('executions')))).toEqual([]);
      });

      it('stops at the head it saw when the read began, though commits keep coming', async () => {
        const ref: StreamRef = { category: 'executions', id: randomUUID() };
        const before = await store.head('executions');
        for (let i = 1; i <= 3; i++) await store.append(ref, commitOf(event(i)), 'any');
        const seen: number[] = [];
        for await (const item of store.readCategory('executions', before, { batchSize: 1 })) {
          seen.push(item.commit?.events[0]?.version ?? 0);
          if (seen.length === 1) await store.append(ref, commitOf(event(4)), 'any');
        }

        expect(seen).toEqual([1, 2, 3]);
        expect((await collectCategory(store.readCategory('executions', before))).map((c) => c.commit?.events[0]?.version)).toEqual([1, 2, 3, 4]);
      });

      it('can be left early', async () => {
        const ref: StreamRef = { category: 'executions', id: randomUUID() };
        const before = await store.head('executions');
        for (let i = 1; i <= 5; i++) await store.append(ref, commitOf(event(i)), 'any');
        const seen: number[] = [];
        for await (const item of store.readCategory('executions', before, { batchSize: 2 })) {
          seen.push(item.sequence);
          if (seen.length === 2) break;
        }

        expect(seen).toHaveLength(2);
        expect(await collectCategory(store.readCategory('executions', before))).toHaveLength(5);
      });
    });

    describe('subscriptions', () => {
      it('follow an aggregate after a version: the stored commits first, then each one as it is appended, in order, nothing of others', async () => {
        const ref = newRef();
        const other = newRef();
        await store.append(ref, commitOf(event(1)), 'any');
        await store.append(other, commitOf(event(1)), 'any');
        await store.append(ref, commitOf(event(2), event(3)), 'any');
        await store.append(ref, commitOf(event(4)), 'any');

        const following = follow(await store.subscribe(ref, { afterVersion: 2 }));
        await store.append(other, commitOf(event(2)), 'any');
        const fifth = await store.append(ref, commitOf(event(5)), 'any');
        await eventually(() => following.seen.length >= 3);
        await store.append(ref, commitOf(event(6)), 'any');
        await eventually(() => following.seen.length >= 4);
        await following.stop();

        // The commit holding version 3 comes whole: version 2 rides along, for the reader to filter.
        expect(following.versions()).toEqual([[2, 3], [4], [5], [6]]);
        expect(following.seen.every((c) => c.ref.id === ref.id && c.commit?.streamId === ref.id)).toBe(true);
        expect(following.seen[2]?.sequence).toBe(fifth.sequence);
      });

      it('start at the first commit after version 0, at the next commit after the current version or without a start, and after a sequence', async () => {
        const ref = newRef();
        const first = await store.append(ref, commitOf(event(1)), 'any');
        await store.append(ref, commitOf(event(2)), 'any');
        const fromStart = follow(await store.subscribe(ref, { afterVersion: 0 }));
        const fromCurrent = follow(await store.subscribe(ref, { afterVersion: 2 }));
        const fromFuture = follow(await store.subscribe(ref, { afterVersion: 7 }));
        const fromNow = follow(await store.subscribe(ref));
        const afterFirst = follow(await store.subscribe(ref, { afterSequence: first.sequence }));
        await store.append(ref, commitOf(event(3)), 'any');
        await eventually(() => [fromStart, fromCurrent, fromNow, afterFirst].every((f) => f.seen.some((c) => c.commit?.events[0]?.version === 3)));
        await Promise.all([fromStart, fromCurrent, fromFuture, fromNow, afterFirst].map((f) => f.stop()));

        expect(fromStart.versions()).toEqual([[1], [2], [3]]);
        expect(fromCurrent.versions()).toEqual([[3]]);
        expect(fromNow.versions()).toEqual([[3]]);
        expect(afterFirst.versions()).toEqual([[2], [3]]);
        expect(fromFuture.versions()).toEqual([[3]]);
      });

      it('find the commit holding a version among many of other aggregates', async () => {
        const ref = newRef();
        for (let version = 1; version <= 40; version++) {
          await store.append(ref, commitOf(event(version)), 'any');
          for (let i = 0; i < version % 4; i++) await store.append(newRef(), commitOf(event(i)), NO_STREAM);
        }
        for (const afterVersion of [1, 2, 13, 27, 38, 39]) {
          const following = follow(await store.subscribe(ref, { afterVersion }));
          await eventually(() => following.seen.length >= 40 - afterVersion);
          await following.stop();
          expect(following.versions()).toEqual(Array.from({ length: 40 - afterVersion }, (_, i) => [afterVersion + i + 1]));
        }
      });

      it('follow a whole category after a sequence, or from its head, and end when closed while waiting', async () => {
        const refs = [randomUUID(), randomUUID()].map((id): StreamRef => ({ category: 'users', id }));
        const before = await store.head('users');
        const written = [];
        for (let i = 0; i < 4; i++) written.push(await store.append(refs[i % 2] as StreamRef, commitOf(event(i)), 'any'));
        const fromBefore = follow(await store.subscribeCategory('users', before));
        const fromHead = follow(await store.subscribeCategory('users'));
        const later = await store.append({ category: 'users', id: randomUUID() }, commitOf(event(9)), NO_STREAM);
        await store.append(newRef(), commitOf(event(9)), NO_STREAM);
        await eventually(() => fromBefore.seen.length >= 5 && fromHead.seen.length >= 1);
        await new Promise((r) => setTimeout(r, 50)); // idle: both wait for more when closed
        await Promise.all([fromBefore.stop(), fromHead.stop()]);

        expect(fromBefore.seen.map((c) => c.sequence)).toEqual([...written, later].map((w) => w.sequence));
        expect(fromBefore.seen.map((c) => c.ref.id)).toEqual([...written, later].map((w) => w.ref.id));
        expect(fromHead.seen.map((c) => c.sequence)).toEqual([later.sequence]);
      });
    });

    describe('consumers', () => {
      const noPoison = async (message: PoisonMessage) => {
        throw new Error(`unexpected poison: ${message.error}`);
      };

      it('delivers every commit of a category in order, and a restarted durable resumes after what it acknowledged', async () => {
        const name = `projector-${randomUUID().slice(0, 8)}`;
        const category = 'users' as const;
        const ref: StreamRef = { category, id: randomUUID() };
        for (let i = 1; i <= 6; i++) await store.append(ref, commitOf(event(i)), 'any');
        const seen: DeliveredCommit[] = [];
        const first = await store.consume({ category, name, batchSize: 4, handle: async (b) => void seen.push(...b), onPoison: noPoison });
        consumers.push(first);
        await eventually(() => seen.filter((c) => c.ref.id === ref.id).length === 6);
        await first.stop();

        const mine = seen.filter((c) => c.ref.id === ref.id);
        expect(mine.map((c) => c.commit.events[0]?.version)).toEqual([1, 2, 3, 4, 5, 6]);
        expect(mine.every((c) => c.deliveryCount === 1 && c.ref.category === category)).toBe(true);

        await store.append(ref, commitOf(event(7)), 'any');
        const later: DeliveredCommit[] = [];
        const second = await store.consume({ category, name, handle: async (b) => void later.push(...b), onPoison: noPoison });
        consumers.push(second);
        await eventually(() => later.some((c) => c.ref.id === ref.id));
        await eventually(async () => (await second.lag()).pending === 0 && (await second.lag()).ackPending === 0);
        expect(later.filter((c) => c.ref.id === ref.id).map((c) => c.commit.events[0]?.version)).toEqual([7]);
      });

      it('redelivers what a consumer that crashed mid-batch did not acknowledge', async () => {
        const name = `crashy-${randomUUID().slice(0, 8)}`;
        const category = 'executions' as const;
        const ref: StreamRef = { category, id: randomUUID() };
        for (let i = 1; i <= 4; i++) await store.append(ref, commitOf(event(i)), 'any');
        let release!: () => void;
        const hang = new Promise<void>((resolve) => (release = resolve));
        const firstRun: number[] = [];
        const crashed = await store.consume({
          category,
          name,
          batchSize: 2,
          ackWaitMs: 1_000,
          onPoison: noPoison,
          handle: async (batch) => {
            const mine = batch.filter((c) => c.ref.id === ref.id).map((c) => c.commit.events[0]?.version ?? 0);
            firstRun.push(...mine);
            if (mine.includes(3)) await hang; // the process "dies" while handling its second batch
          },
        });
        consumers.push(crashed);
        await eventually(() => firstRun.includes(3));

        const secondRun: DeliveredCommit[] = [];
        const replacement = await store.consume({
          category,
          name,
          ackWaitMs: 1_000,
          onPoison: noPoison,
          handle: async (batch) => void secondRun.push(...batch.filter((c) => c.ref.id === ref.id)),
        });
        consumers.push(replacement);
        await eventually(() => secondRun.length >= 2, 30_000);
        release();

        expect(secondRun.map((c) => c.commit.events[0]?.version)).toEqual([3, 4]);
        expect(secondRun[0]?.deliveryCount).toBeGreaterThan(1);
      });

      it('parks a commit whose handling keeps failing, acknowledges it, and keeps going', async () => {
        const name = `poisoned-${randomUUID().slice(0, 8)}`;
        const category = 'notebooks' as const;
        const bad: StreamRef = { category, id: randomUUID() };
        const good: StreamRef = { category, id: randomUUID() };
        await store.append(bad, commitOf(event(1)), NO_STREAM);
        await store.append(good, commitOf(event(1)), NO_STREAM);
        const parked: PoisonMessage[] = [];
        const handled: string[] = [];
        const consumer = await store.consume({
          category,
          name,
          maxDeliver: 3,
          retryDelaysMs: [50],
          onPoison: async (message) => void parked.push(message),
          handle: async (batch) => {
            if (batch.some((c) => c.ref.id === bad.id)) throw new Error('cannot project this');
            handled.push(...batch.map((c) => c.ref.id));
          },
        });
        consumers.push(consumer);
        await eventually(() => parked.length === 1 && handled.includes(good.id));
        await eventually(async () => (await consumer.lag()).ackPending === 0);

        expect(parked[0]).toMatchObject({ category, aggregateId: bad.id, deliveryCount: 3 });
        expect(parked[0]?.error).toContain('cannot project this');
        expect(JSON.parse(new TextDecoder().decode(parked[0]?.payload)).streamId).toBe(bad.id);
        expect(handled).not.toContain(bad.id);
      });

      it('keeps an aggregate\'s order when one of its commits fails, and parks nothing that recovers', async () => {
        const category = 'notebooks' as const;
        const flaky: StreamRef = { category, id: randomUUID() };
        const steady: StreamRef = { category, id: randomUUID() };
        await store.append(flaky, commitOf(event(1)), NO_STREAM);
        const second = await store.append(flaky, commitOf(event(2)), 'any');
        await store.append(steady, commitOf(event(1)), NO_STREAM);
        const applied: string[] = [];
        const parked: PoisonMessage[] = [];
        const consumer = await store.consume({
          category,
          name: `ordered-${randomUUID().slice(0, 8)}`,
          batchSize: 10,
          retryDelaysMs: [50],
          onPoison: async (message) => void parked.push(message),
          handle: async (batch) => {
            const failing = batch.find((c) => c.ref.id === flaky.id && c.commit.events[0]?.version === 1 && c.deliveryCount === 1);
            if (failing) throw new Error('flaky once');
            applied.push(...batch.map((c) => `${c.ref.id === flaky.id ? 'flaky' : 'steady'}@${c.commit.events[0]?.version}`));
          },
        });
        consumers.push(consumer);
        await eventually(async () => applied.includes('flaky@2') && (await consumer.lag()).ackPending === 0);

        expect(applied.filter((a) => a.startsWith('flaky'))).toEqual(['flaky@1', 'flaky@2']);
        expect(applied).toContain('steady@1');
        expect(parked).toEqual([]);
        expect(second.version).toBe(2);
      });

      it('parks nothing during an outage where every commit fails, and catches up after', async () => {
        const category = 'executions' as const;
        const refs = [randomUUID(), randomUUID(), randomUUID()].map((id): StreamRef => ({ category, id }));
        for (const ref of refs) await store.append(ref, commitOf(event(1)), NO_STREAM);
        let down = true;
        const handled = new Set<string>();
        const parked: PoisonMessage[] = [];
        const consumer = await store.consume({
          category,
          name: `outage-${randomUUID().slice(0, 8)}`,
          maxDeliver: 2,
          retryDelaysMs: [50],
          onPoison: async (message) => void parked.push(message),
          handle: async (batch) => {
            if (down) throw new Error('database unreachable');
            for (const c of batch) handled.add(c.ref.id);
          },
        });
        consumers.push(consumer);
        await new Promise((r) => setTimeout(r, 400));
        down = false;
        await eventually(() => refs.every((r) => handled.has(r.id)));

        expect(parked).toEqual([]);
      });

      it('retries RetryLater soon and never parks it, however often it comes', async () => {
        const category = 'notebooks' as const;
        const ref: StreamRef = { category, id: randomUUID() };
        await store.append(ref, commitOf(event(1)), NO_STREAM);
        await store.append({ category, id: randomUUID() }, commitOf(event(1)), NO_STREAM);
        let attempts = 0;
        const parked: PoisonMessage[] = [];
        const consumer = await store.consume({
          category,
          name: `transient-${randomUUID().slice(0, 8)}`,
          maxDeliver: 2,
          onPoison: async (message) => void parked.push(message),
          handle: async (batch) => {
            if (batch.some((c) => c.ref.id === ref.id) && ++attempts < 5) throw new RetryLater('not yet', 20);
          },
        });
        consumers.push(consumer);
        await eventually(() => attempts >= 5);
        await eventually(async () => (await consumer.lag()).ackPending === 0);

        expect(parked).toEqual([]);
      });

      it('counts only real failures towards parking, not retries for RetryLater', async () => {
        const category = 'users' as const;
        const ref: StreamRef = { category, id: randomUUID() };
        await store.append(ref, commitOf(event(1)), NO_STREAM);
        await store.append({ category, id: randomUUID() }, commitOf(event(1)), NO_STREAM);
        let attempts = 0;
        let handled = false;
        const parked: PoisonMessage[] = [];
        const consumer = await store.consume({
          category,
          name: `counted-${randomUUID().slice(0, 8)}`,
          maxDeliver: 2,
          retryDelaysMs: [20],
          onPoison: async (message) => void parked.push(message),
          handle: async (batch) => {
            if (!batch.some((c) => c.ref.id === ref.id)) return;
            attempts++;
            if (attempts <= 4) throw new RetryLater('waiting', 10);
            if (attempts === 5) throw new Error('one real failure');
            handled = true;
          },
        });
        consumers.push(consumer);
        await eventually(() => handled);

        expect(parked).toEqual([]);
      });

      it('redelivers a poison commit whose parking failed, until parking works', async () => {
        const category = 'users' as const;
        const bad: StreamRef = { category, id: randomUUID() };
        await store.append(bad, commitOf(event(1)), NO_STREAM);
        await store.append({ category, id: randomUUID() }, commitOf(event(1)), NO_STREAM); // others succeed: no outage
        let parkAttempts = 0;
        const parked: PoisonMessage[] = [];
        const reported: unknown[] = [];
        const consumer = await store.consume({
          category,
          name: `unparkable-${randomUUID().slice(0, 8)}`,
          maxDeliver: 1,
          retryDelaysMs: [50],
          onError: (error) => reported.push(error),
          onPoison: async (message) => {
            if (++parkAttempts === 1) throw new Error('dead-letter table unreachable');
            parked.push(message);
          },
          handle: async (batch) => {
            if (batch.some((c) => c.ref.id === bad.id)) throw new Error('cannot project this');
          },
        });
        consumers.push(consumer);
        await eventually(() => parked.some((p) => p.aggregateId === bad.id));

        expect(parkAttempts).toBeGreaterThanOrEqual(2);
        expect(reported).toContainEqual(new Error('dead-letter table unreachable'));
      });
    });
  });
}
