import type { Decider, DomainEvent, EventEnvelope, StreamRef } from '@notebooks/contracts';
import { ConcurrencyError, NO_STREAM, type EventStore, type StreamPosition } from './event-store';

/** An aggregate folded up to a position. */
export interface Aggregate<State> {
  state: State;
  position: StreamPosition;
}

/**
 * Folded aggregates by stream, least recently used evicted first. A stale entry is harmless: the
 * append's expected position catches it, and rejections are re-checked on fresh state.
 */
export class AggregateCache<State> {
  private readonly entries = new Map<string, Aggregate<State>>();

  constructor(private readonly maxEntries = 10_000) {}

  get(ref: StreamRef): Aggregate<State> | undefined {
    const key = `${ref.category}/${ref.id}`;
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** Keeps the entry at the furthest position: a slower load finishing late never rolls it back. */
  set(ref: StreamRef, aggregate: Aggregate<State>): void {
    const key = `${ref.category}/${ref.id}`;
    const existing = this.entries.get(key);
    if (existing && existing.position.sequence > aggregate.position.sequence) return;
    this.entries.delete(key);
    this.entries.set(key, aggregate);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(ref: StreamRef): void {
    this.entries.delete(`${ref.category}/${ref.id}`);
  }
}

export interface AggregateOptions<Event extends DomainEvent, State> {
  /** Turns a stored envelope into the decider's event (validating and upcasting it). */
  decode: (envelope: EventEnvelope) => Event;
  cache?: AggregateCache<State>;
}

export interface CommandOptions<Event extends DomainEvent, State> extends AggregateOptions<Event, State> {
  /** Attempts of a command without `expectedVersion` that keeps meeting concurrent writers. */
  maxAttempts?: number;
  /** Schema version written for each event type (the current one). */
  schemaVersions?: Readonly<Record<string, number>>;
}

export interface CommandEnvelope<Command> {
  ref: StreamRef;
  command: Command;
  actorId: string | null;
  correlationId?: string | null;
  causationId?: string | null;
  occurredAt?: Date;
  /** A retry with the same key gets the first result and decides nothing. */
  idempotencyKey?: string;
  /** The version the client based its command on; any other current version is a conflict. */
  expectedVersion?: number;
}

export interface CommandResult {
  ref: StreamRef;
  /** The events written (the first append's, for a repeated idempotency key); empty for a no-op. */
  events: EventEnvelope[];
  /** The aggregate's version after the command. */
  version: number;
  duplicate: boolean;
}

/** Reads an aggregate's commits (after the cached position, if any) and folds them. */
export async function loadAggregate<Event extends DomainEvent, State>(
  store: EventStore,
  decider: Decider<unknown, Event, State>,
  ref: StreamRef,
  options: AggregateOptions<Event, State>,
  from: Aggregate<State> = options.cache?.get(ref) ?? { state: decider.initialState(), position: NO_STREAM },
): Promise<Aggregate<State>> {
  let { state, position } = from;
  for await (const stored of store.read(ref, position.sequence)) {
    for (const envelope of stored.commit.events) state = decider.evolve(state, options.decode(envelope));
    position = { sequence: stored.sequence, version: stored.commit.events.at(-1)?.version ?? position.version };
  }
  const aggregate = { state, position };
  options.cache?.set(ref, aggregate);
  return aggregate;
}

/**
 * Runs one command on one aggregate: load (cached) → decide → append at the loaded position.
 * A conflict on a command with `expectedVersion` is reported as {@link ConcurrencyError}; other
 * commands catch up and decide again, up to `maxAttempts`. The decider's rejections propagate.
 */
export async function handleCommand<Command, Event extends DomainEvent, State>(
  store: EventStore,
  decider: Decider<Command, Event, State>,
  envelope: CommandEnvelope<Command>,
  options: CommandOptions<Event, State>,
): Promise<CommandResult> {
  const { ref, command, expectedVersion, idempotencyKey } = envelope;
  /** A retry whose first attempt landed gets that result — checked again before any refusal, since it may land meanwhile. */
  const earlierResult = async (): Promise<CommandResult | undefined> => {
    const earlier = idempotencyKey === undefined ? undefined : await store.findByIdempotencyKey(idempotencyKey);
    return earlier && { ref: earlier.ref, events: earlier.events, version: earlier.version, duplicate: true };
  };
  /** Refuses with `error` — unless the command's first attempt has landed by now. */
  const refuse = async (error: unknown): Promise<CommandResult> => {
    const landed = await earlierResult();
    if (landed) return landed;
    throw error;
  };
  const earlier = await earlierResult();
  if (earlier) return earlier;
  const cached = options.cache?.get(ref);
  let aggregate = cached ?? (await loadAggregate(store, decider, ref, options));
  let fresh = !cached;
  const maxAttempts = options.maxAttempts ?? 5;

  for (let attempt = 1; ; attempt++) {
    if (expectedVersion !== undefined && aggregate.position.version !== expectedVersion) {
      if (!fresh) {
        aggregate = await loadAggregate(store, decider, ref, options, aggregate);
        fresh = true;
        continue;
      }
      // The decider's refusal (e.g. not allowed to see it) speaks first: a conflict would reveal the version.
      try {
        decider.decide(command, aggregate.state);
      } catch (rejection) {
        return refuse(rejection);
      }
      return refuse(new ConcurrencyError(ref, expectedVersion, aggregate.position));
    }

    let events: Event[];
    try {
      events = decider.decide(command, aggregate.state);
    } catch (rejection) {
      if (fresh) return refuse(rejection);
      aggregate = await loadAggregate(store, decider, ref, options, aggregate);
      fresh = true;
      continue;
    }
    if (events.length === 0) {
      // "Nothing to do" is only true of the current state: a cached one may miss what made it necessary.
      if (!fresh) {
        aggregate = await loadAggregate(store, decider, ref, options, aggregate);
        fresh = true;
        continue;
      }
      return { ref, events: [], version: aggregate.position.version, duplicate: false };
    }

    try {
      const result = await store.append(
        ref,
        {
          events,
          schemaVersions: options.schemaVersions,
          actorId: envelope.actorId,
          correlationId: envelope.correlationId,
          causationId: envelope.causationId,
          occurredAt: envelope.occurredAt,
          idempotencyKey,
        },
        aggregate.position,
      );
      if (result.duplicate) {
        options.cache?.delete(ref);
      } else {
        const state = events.reduce((folded, event) => decider.evolve(folded, event), aggregate.state);
        options.cache?.set(ref, { state, position: { sequence: result.sequence, version: result.version } });
      }
      return { ref: result.ref, events: result.events, version: result.version, duplicate: result.duplicate };
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
      aggregate = await loadAggregate(store, decider, ref, options, aggregate);
      fresh = true;
      if (expectedVersion !== undefined) {
        return refuse(new ConcurrencyError(ref, expectedVersion, aggregate.position));
      }
      if (attempt >= maxAttempts) return refuse(new ConcurrencyError(ref, error.expectedVersion, aggregate.position));
      // Writers that collided would collide again at once; a little random wait spreads them out.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}
