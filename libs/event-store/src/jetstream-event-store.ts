import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type MsgRequest,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  aggregateSubject,
  categorySubjects,
  EVENT_STREAMS,
  qualifyName,
  streamName,
  type EventCategory,
  type StreamRef,
} from '@notebooks/contracts';
import { createHash } from 'node:crypto';
import { assertAggregateId, buildCommit, decodeCommit, encodeCommit, lastVersion, toCategoryCommit } from './commit-codec';
import { BatchProcessor, CONSUMER_DEFAULTS, type Delivery } from './consumer-batch';
import {
  CommitTooLargeError,
  ConcurrencyError,
  NO_STREAM,
  type AppendResult,
  type CategoryCommit,
  type CommitSubscription,
  type ConsumerOptions,
  type EventStore,
  type Expected,
  type NewCommit,
  type ReadCategoryOptions,
  type RunningConsumer,
  type StoredCommit,
  type StreamPosition,
  type SubscriptionStart,
} from './event-store';

export interface JetStreamEventStoreOptions {
  /** Isolates deployments sharing one NATS (see `qualifyName`). */
  namespace?: string;
  /** How long JetStream itself drops a repeated idempotency key; the durable record covers the rest. */
  duplicateWindowMs?: number;
  /** Largest commit accepted; must not exceed the server's max_payload (1 MiB by default). */
  maxCommitBytes?: number;
  /**
   * Replicas of each stream and of the idempotency bucket (3 in production). Absent: a new stream
   * gets 1 and an existing one keeps what it has, so a tool or an operator's edit is never undone.
   */
  replicas?: number;
  /** How long idempotency keys are remembered. */
  idempotencyTtlMs?: number;
  /** Attempts of an `'any'` append that keeps meeting concurrent writers. */
  maxAnyAttempts?: number;
}

const WRONG_LAST_SEQUENCE = 10071;
const STREAM_NAME_IN_USE = 10058;
const CONSUMER_NOT_FOUND = 10014;
const MSG_ID_HEADER = 'Nats-Msg-Id';
/**
 * Commits an ordered consumer may have delivered ahead of its reader: a subscriber or reader that
 * stalls holds at most this many commits (up to `maxCommitBytes` each) in memory. A byte bound
 * (`max_bytes`) would be tighter, but the client stalls until its heartbeat check when a commit
 * does not fit the rest of a pull.
 */
const FOLLOW_AHEAD = 8;
const READ_AHEAD = 32;

const DEFAULTS = {
  namespace: '',
  duplicateWindowMs: 10 * 60_000,
  maxCommitBytes: 1024 * 1024 - 4096,
  replicas: undefined as number | undefined,
  idempotencyTtlMs: 7 * 24 * 60 * 60_000,
  maxAnyAttempts: 10,
};

type IdempotencyRecord =
  | { state: 'pending'; ref: StreamRef; afterSequence: number }
  | { state: 'complete'; ref: StreamRef; sequence: number };

/**
 * The event log on NATS JetStream: one stream per category (file storage), one subject per
 * aggregate, one message per commit, `Nats-Expected-Last-Subject-Sequence` for optimistic
 * concurrency, `Nats-Msg-Id` plus a KV record for idempotency beyond the duplicate window.
 */
export class JetStreamEventStore implements EventStore {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly idempotency: KV,
    private readonly options: typeof DEFAULTS,
  ) {}

  /** Connects and provisions the streams and the idempotency bucket (safe to run from several replicas at once). */
  static async create(connection: NatsConnection, options: JetStreamEventStoreOptions = {}): Promise<JetStreamEventStore> {
    const settings = { ...DEFAULTS, ...options };
    const jsm = await jetstreamManager(connection);
    for (const category of Object.keys(EVENT_STREAMS) as EventCategory[]) {
      await ensureStream(jsm, {
        name: streamName(settings.namespace, category),
        subjects: [categorySubjects(settings.namespace, category)],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_msg_size: settings.maxCommitBytes + 4096,
        duplicate_window: nanos(settings.duplicateWindowMs),
        ...(settings.replicas !== undefined && { num_replicas: settings.replicas }),
        allow_direct: true,
        deny_delete: true,
      });
    }
    const idempotency = await new Kvm(connection).create(qualifyName(settings.namespace, 'IDEMPOTENCY'), {
      history: 1,
      ttl: settings.idempotencyTtlMs,
      storage: StorageType.File,
      ...(settings.replicas !== undefined && { replicas: settings.replicas }),
    });
    return new JetStreamEventStore(jetstream(connection), jsm, idempotency, settings);
  }

  async append(ref: StreamRef, commit: NewCommit, expected: Expected): Promise<AppendResult> {
    assertAggregateId(ref);
    const key = commit.idempotencyKey === undefined ? undefined : idempotencyHash(commit.idempotencyKey);
    if (key) {
      const earlier = await this.findByHash(key);
      if (earlier) return earlier;
    }
    let position = expected === 'any' ? await this.position(ref) : expected;
    for (let attempt = 1; ; attempt++) {
      const message = buildCommit(ref, commit, position);
      const payload = encodeCommit(message);
      if (payload.byteLength > this.options.maxCommitBytes) {
        throw new CommitTooLargeError(payload.byteLength, this.options.maxCommitBytes);
      }
      if (key) {
        const earlier = await this.markPending(key, ref, position.sequence);
        if (earlier) return earlier;
      }
      try {
        const ack = await this.js.publish(aggregateSubject(this.options.namespace, ref), payload, {
          ...(key ? { msgID: key } : {}),
          expect: { lastSubjectSequence: position.sequence },
        });
        // Best effort: if this write fails, the pending record and its scan still find the commit.
        if (key) await this.putRecord(key, { state: 'complete', ref, sequence: ack.seq }).catch(() => undefined);
        if (ack.duplicate) return { ...(await this.resultAt(ref, ack.seq)), duplicate: true };
        return { ref, sequence: ack.seq, events: message.events, version: lastVersion(message), duplicate: false };
      } catch (error) {
        if (!(error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE)) throw error;
        // A concurrent append with the same key may have won: then its result is ours.
        const earlier = key ? await this.findByHash(key) : undefined;
        if (earlier) return earlier;
        const actual = await this.position(ref);
        if (expected !== 'any' || attempt >= this.options.maxAnyAttempts) throw new ConcurrencyError(ref, position.version, actual);
        position = actual;
      }
    }
  }

  async *read(ref: StreamRef, afterSequence = 0): AsyncIterable<StoredCommit> {
    for await (const message of this.readMessages(ref, afterSequence)) {
      yield { sequence: message.seq, commit: decodeCommit(message.data) };
    }
  }

  async position(ref: StreamRef): Promise<StreamPosition> {
    assertAggregateId(ref);
    const last = await this.jsm.streams.getMessage(streamName(this.options.namespace, ref.category), {
      last_by_subj: aggregateSubject(this.options.namespace, ref),
    });
    return last ? { sequence: last.seq, version: lastVersion(decodeCommit(last.data)) } : NO_STREAM;
  }

  findByIdempotencyKey(key: string): Promise<AppendResult | undefined> {
    return this.findByHash(idempotencyHash(key));
  }

  async *readCategory(category: EventCategory, afterSequence: number, options: ReadCategoryOptions = {}): AsyncIterable<CategoryCommit> {
    const stream = streamName(this.options.namespace, category);
    const last = Math.min(await this.head(category), options.toSequence ?? Number.POSITIVE_INFINITY);
    if (last <= afterSequence) return;
    // An ordered consumer: ephemeral, flow-controlled, re-created by the client on a gap; pulls in batches.
    const consumer = await this.js.consumers.get(stream, {
      filter_subjects: categorySubjects(this.options.namespace, category),
      ...(afterSequence > 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSequence + 1 }
        : { deliver_policy: DeliverPolicy.All }),
    });
    const messages = await consumer.consume({ max_messages: options.batchSize ?? READ_AHEAD });
    try {
      for await (const message of messages) {
        if (message.seq > last) break;
        yield toCategoryCommit(category, message.seq, message.subject, message.data);
        if (message.seq >= last) break;
      }
    } finally {
      await messages.close().catch(() => undefined);
      await consumer.delete().catch(() => undefined); // else it lingers on the server until inactive
    }
  }

  async head(category: EventCategory): Promise<number> {
    const { state } = await this.jsm.streams.info(streamName(this.options.namespace, category));
    return state.last_seq;
  }

  async subscribe(ref: StreamRef, start?: SubscriptionStart): Promise<CommitSubscription> {
    assertAggregateId(ref);
    const subject = aggregateSubject(this.options.namespace, ref);
    return this.follow(ref.category, subject, await this.firstSequence(ref, subject, start));
  }

  async subscribeCategory(category: EventCategory, afterSequence?: number): Promise<CommitSubscription> {
    const after = afterSequence ?? (await this.head(category));
    return this.follow(category, categorySubjects(this.options.namespace, category), after + 1);
  }

  /** The stream sequence a subscription to `ref` starts at. */
  private async firstSequence(ref: StreamRef, subject: string, start: SubscriptionStart | undefined): Promise<number> {
    if (start && 'afterSequence' in start) return start.afterSequence + 1;
    if (start && start.afterVersion <= 0) return 1;
    const last = await this.position(ref);
    if (!start || last.version <= start.afterVersion) return last.sequence + 1;
    // The aggregate's commits are in version order on the stream: a binary search over stream
    // sequences finds the one holding afterVersion + 1 in O(log n) gets, however long the
    // stream, instead of reading the aggregate from its start. The gets go to the stream's leader
    // (a direct get may answer from a follower that lags); an undecodable commit counts as a
    // possible start (starting early is safe: readers skip versions they have).
    const stream = streamName(this.options.namespace, ref.category);
    let found = last.sequence;
    let low = 1;
    let high = last.sequence - 1;
    while (low <= high) {
      const middle = Math.floor((low + high) / 2);
      // STREAM.MSG.GET takes next_by_subj since nats-server 2.9, though the client's type does not list it.
      const next = await this.jsm.streams.getMessage(stream, { seq: middle, next_by_subj: subject } as unknown as MsgRequest);
      if (!next || next.seq >= found) {
        high = middle - 1; // no commit of the aggregate in [middle, found)
      } else if ((versionOf(next.data) ?? Number.POSITIVE_INFINITY) > start.afterVersion) {
        found = next.seq;
        high = middle - 1;
      } else {
        low = next.seq + 1;
      }
    }
    return found;
  }

  /** An ordered consumer on `subject` from `first` on: recreated by the client after a gap, deleted when closed. */
  private async follow(category: EventCategory, subject: string, first: number): Promise<CommitSubscription> {
    const consumer = await this.js.consumers.get(streamName(this.options.namespace, category), {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Math.max(1, first),
    });
    const messages = await consumer.consume({ max_messages: FOLLOW_AHEAD });
    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        await messages.close().catch(() => undefined);
        await consumer.delete().catch(() => undefined); // else it lingers on the server until inactive
      })());
    return {
      close,
      async *[Symbol.asyncIterator]() {
        try {
          for await (const message of messages) yield toCategoryCommit(category, message.seq, message.subject, message.data);
        } finally {
          await close();
        }
      },
    };
  }

  async consume(options: ConsumerOptions): Promise<RunningConsumer> {
    const stream = streamName(this.options.namespace, options.category);
    const durable = qualifyName(this.options.namespace, options.name);
    const batchSize = options.batchSize ?? CONSUMER_DEFAULTS.batchSize;
    await this.ensureDurable(stream, durable, options, batchSize);
    const consumer = await this.js.consumers.get(stream, durable);
    const messages: ConsumerMessages = await consumer.consume({ max_messages: batchSize });
    const processor = new BatchProcessor(options);
    const buffer: JsMsg[] = [];
    let wakeWorker: (() => void) | undefined;
    let stopped = false;
    let failure: unknown;

    const pump = (async () => {
      try {
        for await (const message of messages) {
          buffer.push(message);
          wakeWorker?.();
        }
      } catch (error) {
        failure = error;
        options.onError?.(error);
      }
      stopped = true;
      wakeWorker?.();
    })();

    const work = (async () => {
      while (!stopped) {
        if (buffer.length === 0) {
          await new Promise<void>((resolve) => (wakeWorker = resolve));
          continue;
        }
        const batch = buffer.splice(0, batchSize);
        try {
          await processor.process(batch.map(toDelivery));
        } catch (error) {
          options.onError?.(error);
          for (const message of batch) message.nak(CONSUMER_DEFAULTS.retryDelaysMs[0]);
        }
      }
    })();

    return {
      lag: async () => {
        if (failure) throw failure;
        const info = await consumer.info();
        return { pending: info.num_pending, ackPending: info.num_ack_pending };
      },
      stop: async () => {
        stopped = true;
        wakeWorker?.();
        await messages.close().catch(() => undefined);
        await Promise.allSettled([pump, work]);
        for (const message of buffer.splice(0)) message.nak();
      },
    };
  }

  /**
   * Creates the durable, or keeps an existing one where it is: on nats-server 2.9 its deliver
   * policy and start sequence cannot change, and its position is the point of it.
   */
  private async ensureDurable(stream: string, durable: string, options: ConsumerOptions, batchSize: number): Promise<void> {
    const tuning = { ack_wait: nanos(options.ackWaitMs ?? CONSUMER_DEFAULTS.ackWaitMs), max_ack_pending: Math.max(1_000, batchSize * 10) };
    try {
      await this.jsm.consumers.info(stream, durable);
      await this.jsm.consumers.update(stream, durable, tuning);
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === CONSUMER_NOT_FOUND)) throw error;
    }
    await this.jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      max_deliver: -1,
      filter_subject: categorySubjects(this.options.namespace, options.category),
      ...tuning,
      ...(options.startSequence
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.startSequence }
        : { deliver_policy: DeliverPolicy.All }),
    });
  }

  /** Records that an append with `key` is under way; an existing record means another one is, or was. */
  private async markPending(key: string, ref: StreamRef, afterSequence: number): Promise<AppendResult | undefined> {
    try {
      await this.idempotency.create(key, JSON.stringify({ state: 'pending', ref, afterSequence } satisfies IdempotencyRecord));
      return undefined;
    } catch {
      return this.findByHash(key);
    }
  }

  private async findByHash(key: string): Promise<AppendResult | undefined> {
    const entry = await this.idempotency.get(key);
    if (!entry || entry.operation !== 'PUT') return undefined;
    const record = entry.json<IdempotencyRecord>();
    if (record.state === 'complete') return { ...(await this.resultAt(record.ref, record.sequence)), duplicate: true };
    // An append that was under way when its writer stopped: it landed if its commit carries the key.
    for await (const message of this.readMessages(record.ref, record.afterSequence)) {
      if (message.headers?.get(MSG_ID_HEADER) === key) {
        await this.putRecord(key, { state: 'complete', ref: record.ref, sequence: message.seq });
        return { ...(await this.resultAt(record.ref, message.seq)), duplicate: true };
      }
    }
    return undefined;
  }

  /** The aggregate's messages after `afterSequence`, up to its last one when the read began. */
  private async *readMessages(ref: StreamRef, afterSequence: number): AsyncIterable<JsMsg> {
    assertAggregateId(ref);
    const last = await this.position(ref);
    if (last.sequence <= afterSequence) return;
    const consumer = await this.js.consumers.get(streamName(this.options.namespace, ref.category), {
      filter_subjects: aggregateSubject(this.options.namespace, ref),
      ...(afterSequence > 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSequence + 1 }
        : { deliver_policy: DeliverPolicy.All }),
    });
    const messages = await consumer.consume({ max_messages: READ_AHEAD });
    try {
      for await (const message of messages) {
        yield message;
        if (message.seq >= last.sequence) break;
      }
    } finally {
      await messages.close().catch(() => undefined);
      await consumer.delete().catch(() => undefined); // else it lingers on the server until inactive
    }
  }

  private async resultAt(ref: StreamRef, sequence: number): Promise<AppendResult> {
    const stored = await this.jsm.streams.getMessage(streamName(this.options.namespace, ref.category), { seq: sequence });
    if (!stored) throw new Error(`commit at sequence ${sequence} of ${ref.category} is missing`);
    const commit = decodeCommit(stored.data);
    return { ref, sequence, events: commit.events, version: lastVersion(commit), duplicate: true };
  }

  private async putRecord(key: string, record: IdempotencyRecord): Promise<void> {
    await this.idempotency.put(key, JSON.stringify(record));
  }
}

function toDelivery(message: JsMsg): Delivery {
  return {
    sequence: message.seq,
    subject: message.subject,
    payload: message.data,
    deliveryCount: message.info.deliveryCount,
    ack: () => message.ack(),
    nak: (delayMs) => message.nak(delayMs),
  };
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.add(config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE)) throw error;
    const { config: current } = await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, { ...current, ...config });
  }
}

/** The last version of a stored commit, or undefined when it is not a valid commit. */
function versionOf(data: Uint8Array): number | undefined {
  try {
    return lastVersion(decodeCommit(data));
  } catch {
    return undefined;
  }
}

function idempotencyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
