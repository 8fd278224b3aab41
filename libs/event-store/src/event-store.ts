import type { CommitMessage, DomainEvent, EventCategory, EventEnvelope, StreamRef } from '@notebooks/contracts';

/** Where an aggregate's stream stood when a command was decided: the last commit's stream sequence and version. */
export interface StreamPosition {
  /** Stream sequence of the aggregate's last commit; 0 when it has none. */
  sequence: number;
  /** Number of events in the aggregate; 0 when it has none. */
  version: number;
}

export const NO_STREAM: StreamPosition = Object.freeze({ sequence: 0, version: 0 });

/** `StreamPosition`: append only if nobody appended since. `'any'`: append after whatever is there. */
export type Expected = StreamPosition | 'any';

/** A command's events and their metadata, written as one commit. */
export interface NewCommit {
  events: readonly DomainEvent[];
  /** Schema version of each event type written now (defaults to the platform's current one, else 1). */
  schemaVersions?: Readonly<Record<string, number>>;
  actorId: string | null;
  correlationId?: string | null;
  causationId?: string | null;
  /** When the command happened (the edge's clock); defaults to now. */
  occurredAt?: Date;
  /**
   * The same key appends once: a retry, however late, gets the first append's result. Callers
   * scope keys (e.g. by actor) — the store treats them as opaque.
   */
  idempotencyKey?: string;
}

export interface StoredCommit {
  /** Stream sequence of this commit. */
  sequence: number;
  commit: CommitMessage;
}

export interface AppendResult {
  ref: StreamRef;
  sequence: number;
  /** The stored events, with the versions they got. */
  events: EventEnvelope[];
  /** The aggregate's version after this commit. */
  version: number;
  /** True when this is an earlier append's result, returned for a repeated idempotency key. */
  duplicate: boolean;
}

/** A commit delivered to a consumer. */
export interface DeliveredCommit extends StoredCommit {
  ref: StreamRef;
  /** How many times this commit has been delivered (1 on first delivery). */
  deliveryCount: number;
}

/** A message a consumer could not use: undecodable, or its handler kept failing. */
export interface PoisonMessage {
  category: EventCategory;
  sequence: number;
  subject: string;
  aggregateId: string;
  payload: Uint8Array;
  error: string;
  deliveryCount: number;
}

export interface ConsumerOptions {
  category: EventCategory;
  /** Durable name: consumers with the same name share the work and the position. */
  name: string;
  /** Handles commits in stream order within a batch; they are acknowledged once it resolves. */
  handle(batch: DeliveredCommit[]): Promise<void>;
  /**
   * Called for a commit that cannot be decoded, or whose handling failed `maxDeliver` times. Once
   * it resolves the commit is acknowledged; park it there, it is never dropped silently.
   */
  onPoison(message: PoisonMessage): Promise<void>;
  batchSize?: number;
  /** Unacknowledged commits come back after this long. */
  ackWaitMs?: number;
  maxDeliver?: number;
  /** Redelivery delay after the 1st, 2nd, … failed delivery (the last repeats). */
  retryDelaysMs?: readonly number[];
  /** Start position for a new durable (default: the beginning); an existing durable keeps its position. */
  startSequence?: number;
  /** Told about failures the consumer recovers from by itself (a failed park, a broken fetch). */
  onError?(error: unknown): void;
}

/**
 * A commit read from a whole category ({@link EventStore.readCategory}) or followed by a
 * subscription ({@link EventStore.subscribe}): decoded, or — when its
 * message is not a valid commit — the raw message and why, so the reader can park it.
 */
export type CategoryCommit = {
  sequence: number;
  ref: StreamRef;
  /** The message's subject on the log (namespaced). */
  subject: string;
  /** The message as stored. */
  payload: Uint8Array;
} & ({ commit: CommitMessage; error?: undefined } | { commit: null; error: string });

export interface ReadCategoryOptions {
  /** Stop after this sequence (default, and at most: the category's head when the read begins). */
  toSequence?: number;
  /** Commits fetched from the log per request: what a stalled reader may hold in memory (default 32). */
  batchSize?: number;
}

/**
 * Where a subscription starts: after a stream sequence, or — for one aggregate — after one of its
 * versions (at the commit holding `afterVersion + 1`).
 */
export type SubscriptionStart = { afterSequence: number } | { afterVersion: number };

/**
 * Commits as they are appended, in stream order, with no gap and no repeat (see
 * {@link EventStore.subscribe}). Iterate it once; the iteration ends after `close()`, and throws
 * if the subscription fails (the log went away). Undecodable messages are yielded with `commit: null`.
 */
export interface CommitSubscription extends AsyncIterable<CategoryCommit> {
  /** Stops the subscription and releases what it holds on the server; the iteration ends. */
  close(): Promise<void>;
}

export interface RunningConsumer {
  /** Commits not yet delivered plus delivered but unacknowledged; rejects once the consumer has failed. */
  lag(): Promise<{ pending: number; ackPending: number }>;
  /** Stops fetching; waits for the batch in hand to finish. */
  stop(): Promise<void>;
}

/** Append-only streams, one per aggregate, with optimistic concurrency and idempotent appends. */
export interface EventStore {
  /** Writes the events as one commit, or throws {@link ConcurrencyError} (nothing written). */
  append(ref: StreamRef, commit: NewCommit, expected: Expected): Promise<AppendResult>;
  /** The aggregate's commits in order, after `afterSequence`. */
  read(ref: StreamRef, afterSequence?: number): AsyncIterable<StoredCommit>;
  /** Where the aggregate's stream stands now. */
  position(ref: StreamRef): Promise<StreamPosition>;
  /** The result of an earlier append with this idempotency key, if any. */
  findByIdempotencyKey(key: string): Promise<AppendResult | undefined>;
  /** Runs a durable consumer over a category's commits until stopped. */
  consume(options: ConsumerOptions): Promise<RunningConsumer>;
  /**
   * Every commit of a category after `afterSequence`, in stream order, up to the category's head
   * when the read begins (or `toSequence`): what a replay reads. Undecodable messages are yielded
   * too, with `commit: null`. Leaves nothing behind on the server, however the iteration ends.
   */
  readCategory(category: EventCategory, afterSequence: number, options?: ReadCategoryOptions): AsyncIterable<CategoryCommit>;
  /** The category's last stream sequence; 0 while it is empty. */
  head(category: EventCategory): Promise<number>;
  /**
   * Follows one aggregate: its commits from `start` on — those stored already, then each one as
   * it is appended — until closed (on JetStream, an ordered consumer filtered by the aggregate's
   * subject, so catching up and going live is one gapless sequence). With `{ afterVersion }` the
   * first commit is the one holding `afterVersion + 1`, which may hold earlier versions too: filter
   * events by version. Without `start`, only commits appended after the call.
   */
  subscribe(ref: StreamRef, start?: SubscriptionStart): Promise<CommitSubscription>;
  /** Follows a whole category after `afterSequence` (default: its head now), like {@link subscribe}. */
  subscribeCategory(category: EventCategory, afterSequence?: number): Promise<CommitSubscription>;
}
export const EventStore = Symbol('EventStore');

/** The aggregate moved on since the command's expectation; `actual` is where it stands now. */
export class ConcurrencyError extends Error {
  constructor(
    readonly ref: StreamRef,
    readonly expectedVersion: number,
    readonly actual: StreamPosition,
  ) {
    super(`${ref.category}/${ref.id} is at version ${actual.version}, expected ${expectedVersion}`);
    this.name = 'ConcurrencyError';
  }
}

/** A commit larger than the log accepts in one message. */
export class CommitTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`commit of ${bytes} bytes exceeds the limit of ${limit} bytes`);
    this.name = 'CommitTooLargeError';
  }
}

/**
 * Thrown by a consumer's handler for a condition that passes by itself (e.g. a commit that arrived
 * before its predecessor was applied): redelivered after `delayMs`, never parked.
 */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly delayMs = 250,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}
