import { aggregateSubject, type EventCategory, type StreamRef } from '@notebooks/contracts';
import { assertAggregateId, buildCommit, decodeCommit, encodeCommit, lastVersion, toCategoryCommit } from './commit-codec';
import { BatchProcessor, CONSUMER_DEFAULTS } from './consumer-batch';
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

interface StoredMessage {
  sequence: number;
  subject: string;
  payload: Uint8Array;
}

interface DurableState {
  acked: Set<number>;
  /** Delivered, unacknowledged: when each may be delivered again, and how often it was. */
  inFlight: Map<number, { redeliverAt: number; deliveries: number }>;
  startSequence: number;
}

/** The event store in memory, with the JetStream adapter's semantics: for unit tests and tools. */
export class InMemoryEventStore implements EventStore {
  private readonly streams = new Map<EventCategory, StoredMessage[]>();
  private readonly keys = new Map<string, { ref: StreamRef; sequence: number }>();
  private readonly durables = new Map<string, DurableState>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly maxCommitBytes = 1024 * 1024 - 4096) {}

  async append(ref: StreamRef, commit: NewCommit, expected: Expected): Promise<AppendResult> {
    assertAggregateId(ref);
    // No await before the write: the key check and the append are one step, as on the server.
    const earlier = commit.idempotencyKey === undefined ? undefined : this.findByKeyNow(commit.idempotencyKey);
    if (earlier) return earlier;
    const actual = this.positionNow(ref);
    const after = expected === 'any' ? actual : expected;
    if (after.sequence !== actual.sequence) throw new ConcurrencyError(ref, after.version, actual);
    const message = buildCommit(ref, commit, after);
    const payload = encodeCommit(message);
    if (payload.byteLength > this.maxCommitBytes) throw new CommitTooLargeError(payload.byteLength, this.maxCommitBytes);
    const stream = this.stream(ref.category);
    const sequence = (stream[stream.length - 1]?.sequence ?? 0) + 1;
    stream.push({ sequence, subject: aggregateSubject('', ref), payload });
    if (commit.idempotencyKey !== undefined) this.keys.set(commit.idempotencyKey, { ref, sequence });
    for (const listener of this.listeners) listener();
    return { ref, sequence, events: message.events, version: lastVersion(message), duplicate: false };
  }

  async *read(ref: StreamRef, afterSequence = 0): AsyncIterable<StoredCommit> {
    assertAggregateId(ref);
    const subject = aggregateSubject('', ref);
    const snapshot = this.stream(ref.category).filter((m) => m.subject === subject && m.sequence > afterSequence);
    for (const message of snapshot) yield { sequence: message.sequence, commit: decodeCommit(message.payload) };
  }

  async position(ref: StreamRef): Promise<StreamPosition> {
    assertAggregateId(ref);
    return this.positionNow(ref);
  }

  async findByIdempotencyKey(key: string): Promise<AppendResult | undefined> {
    return this.findByKeyNow(key);
  }

  async *readCategory(category: EventCategory, afterSequence: number, options: ReadCategoryOptions = {}): AsyncIterable<CategoryCommit> {
    const last = Math.min(this.headNow(category), options.toSequence ?? Number.POSITIVE_INFINITY);
    const snapshot = this.stream(category).filter((m) => m.sequence > afterSequence && m.sequence <= last);
    for (const message of snapshot) yield toCategoryCommit(category, message.sequence, message.subject, message.payload);
  }

  async head(category: EventCategory): Promise<number> {
    return this.headNow(category);
  }

  async subscribe(ref: StreamRef, start?: SubscriptionStart): Promise<CommitSubscription> {
    assertAggregateId(ref);
    const subject = aggregateSubject('', ref);
    const stream = this.stream(ref.category);
    let first: number;
    if (start === undefined) first = this.headNow(ref.category) + 1;
    else if ('afterSequence' in start) first = start.afterSequence + 1;
    else {
      const { afterVersion } = start;
      // An undecodable message may be the start: readers skip versions they have.
      const holding = stream.find((m) => m.subject === subject && (versionOf(m.payload) ?? Number.POSITIVE_INFINITY) > afterVersion);
      first = holding?.sequence ?? this.headNow(ref.category) + 1;
    }
    return this.follow(ref.category, first, (message) => message.subject === subject);
  }

  async subscribeCategory(category: EventCategory, afterSequence?: number): Promise<CommitSubscription> {
    return this.follow(category, (afterSequence ?? this.headNow(category)) + 1, () => true);
  }

  /** Appends a message as it is, valid commit or not: how tests put garbage on the log. */
  appendRaw(ref: StreamRef, payload: Uint8Array): number {
    const stream = this.stream(ref.category);
    const sequence = this.headNow(ref.category) + 1;
    stream.push({ sequence, subject: aggregateSubject('', ref), payload });
    for (const listener of this.listeners) listener();
    return sequence;
  }

  private findByKeyNow(key: string): AppendResult | undefined {
    const record = this.keys.get(key);
    if (!record) return undefined;
    const stored = this.stream(record.ref.category).find((m) => m.sequence === record.sequence);
    if (!stored) return undefined;
    const commit = decodeCommit(stored.payload);
    return { ref: record.ref, sequence: record.sequence, events: commit.events, version: lastVersion(commit), duplicate: true };
  }

  async consume(options: ConsumerOptions): Promise<RunningConsumer> {
    const durableKey = `${options.category}/${options.name}`;
    const durable = this.durables.get(durableKey) ?? {
      acked: new Set<number>(),
      inFlight: new Map(),
      startSequence: options.startSequence ?? 1,
    };
    this.durables.set(durableKey, durable);
    const batchSize = options.batchSize ?? CONSUMER_DEFAULTS.batchSize;
    const ackWaitMs = options.ackWaitMs ?? CONSUMER_DEFAULTS.ackWaitMs;
    const stream = this.stream(options.category);
    const processor = new BatchProcessor(options);
    let stopped = false;
    let wake: (() => void) | undefined;
    const listener = () => wake?.();
    this.listeners.add(listener);

    const due = (): StoredMessage[] => {
      const now = Date.now();
      return stream
        .filter((m) => m.sequence >= durable.startSequence && !durable.acked.has(m.sequence))
        .filter((m) => (durable.inFlight.get(m.sequence)?.redeliverAt ?? 0) <= now)
        .slice(0, batchSize);
    };

    const work = (async () => {
      while (!stopped) {
        const batch = due();
        if (batch.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 20);
          });
          wake = undefined;
          continue;
        }
        const deliveries = batch.map((message) => {
          const deliveries = (durable.inFlight.get(message.sequence)?.deliveries ?? 0) + 1;
          durable.inFlight.set(message.sequence, { redeliverAt: Date.now() + ackWaitMs, deliveries });
          return {
            sequence: message.sequence,
            subject: message.subject,
            payload: message.payload,
            deliveryCount: deliveries,
            ack: () => {
              durable.acked.add(message.sequence);
              durable.inFlight.delete(message.sequence);
            },
            nak: (delayMs: number) => durable.inFlight.set(message.sequence, { redeliverAt: Date.now() + delayMs, deliveries }),
          };
        });
        try {
          await processor.process(deliveries);
        } catch (error) {
          options.onError?.(error);
          for (const delivery of deliveries) delivery.nak(CONSUMER_DEFAULTS.retryDelaysMs[0]);
        }
      }
    })();

    return {
      lag: async () => {
        const open = stream.filter((m) => m.sequence >= durable.startSequence && !durable.acked.has(m.sequence));
        const ackPending = open.filter((m) => durable.inFlight.has(m.sequence)).length;
        return { pending: open.length - ackPending, ackPending };
      },
      stop: async () => {
        stopped = true;
        wake?.();
        this.listeners.delete(listener);
        await work;
      },
    };
  }

  /** Yields the matching messages from sequence `first` on, waking on each append, until closed. */
  private follow(category: EventCategory, first: number, matches: (message: StoredMessage) => boolean): CommitSubscription {
    const stream = this.stream(category);
    let closed = false;
    let wake: (() => void) | undefined;
    const listener = () => wake?.();
    this.listeners.add(listener);
    const close = async () => {
      closed = true;
      this.listeners.delete(listener);
      wake?.();
    };
    return {
      close,
      async *[Symbol.asyncIterator]() {
        let next = first;
        try {
          while (!closed) {
            const due = stream.filter((message) => message.sequence >= next && matches(message));
            if (due.length === 0) {
              // The executor runs at once: no append can slip in between the look and the wait.
              await new Promise<void>((resolve) => (wake = resolve));
              wake = undefined;
              continue;
            }
            for (const message of due) {
              if (closed) return;
              next = message.sequence + 1;
              yield toCategoryCommit(category, message.sequence, message.subject, message.payload);
            }
          }
        } finally {
          await close();
        }
      },
    };
  }

  private stream(category: EventCategory): StoredMessage[] {
    let stream = this.streams.get(category);
    if (!stream) this.streams.set(category, (stream = []));
    return stream;
  }

  private headNow(category: EventCategory): number {
    return this.stream(category).at(-1)?.sequence ?? 0;
  }

  private positionNow(ref: StreamRef): StreamPosition {
    const subject = aggregateSubject('', ref);
    const stream = this.stream(ref.category);
    const last = stream.findLast((message) => message.subject === subject);
    return last ? { sequence: last.sequence, version: lastVersion(decodeCommit(last.payload)) } : NO_STREAM;
  }
}

/** The last version of a stored commit, or undefined when it is not a valid commit. */
function versionOf(payload: Uint8Array): number | undefined {
  try {
    return lastVersion(decodeCommit(payload));
  } catch {
    return undefined;
  }
}
