import type { z } from 'zod';
import type { DomainEvent, EventEnvelope } from './commit';
import { type ExecutionEvent, CellExecutedV1, CellFailedV1 } from './execution-events';
import {
  type NotebookEvent,
  CellCreatedV1,
  CellDeletedV1,
  CellMovedV1,
  CellUpdatedV1,
  CellUpdatedV2,
  upcastCellUpdatedV1,
  NotebookCreatedV1,
  NotebookDeletedV1,
  NotebookForkedV1,
  NotebookRestoredV1,
  NotebookSharedV1,
  NotebookUnsharedV1,
  NotebookUpdatedV1,
} from './notebook-events';
import type { EventCategory } from './streams';
import { type UserEvent, UserRegisteredV1, UserUpdatedV1 } from './user-events';

/** Every event the platform stores, with its current data version. */
export type PlatformEvent = NotebookEvent | ExecutionEvent | UserEvent;

/** A decoded envelope: its `type` narrows its `data`. */
export type DecodedEnvelope<E extends DomainEvent> = E extends DomainEvent ? EventEnvelope<E> : never;

/** Turns valid data of one schema version into data of the next. */
export type Upcaster<From = unknown> = (data: From) => unknown;

export type EventDecodeErrorReason = 'unknown-type' | 'unknown-version' | 'invalid-data' | 'missing-upcaster';

/** A stored event that cannot be read: projections park it as a poison event. */
export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';

  constructor(
    readonly reason: EventDecodeErrorReason,
    readonly type: string,
    readonly schemaVersion: number,
    options?: { cause?: unknown },
  ) {
    super(`cannot decode ${type}@${schemaVersion}: ${reason}`, options);
  }
}

/**
 * Schemas per `type@schemaVersion` plus upcasters from each version to the next. A published
 * schema is never edited: a change registers version n+1 and an upcaster from n, so every stored
 * event stays readable. `E` types what `decode` returns; the registered schemas must match it.
 */
export class EventRegistry<E extends DomainEvent = DomainEvent> {
  private readonly schemas = new Map<string, z.ZodType>();
  private readonly upcasters = new Map<string, Upcaster>();
  private readonly currentVersions = new Map<string, number>();

  /** Adds the next version of a type's schema (1 for a new type). Versions are registered in order. */
  register(type: E['type'], schemaVersion: number, schema: z.ZodType): this {
    const expected = (this.currentVersions.get(type) ?? 0) + 1;
    if (schemaVersion !== expected) {
      throw new Error(`${type}@${schemaVersion} registered out of order: next version is ${expected}`);
    }
    this.schemas.set(key(type, schemaVersion), schema);
    this.currentVersions.set(type, schemaVersion);
    return this;
  }

  /** Adds the function turning valid `type@fromVersion` data into `type@fromVersion+1` data. */
  registerUpcaster<From>(type: E['type'], fromVersion: number, upcast: Upcaster<From>): this {
    if (this.upcasters.has(key(type, fromVersion))) {
      throw new Error(`upcaster for ${type}@${fromVersion} already registered`);
    }
    // Sound because decode validates data against the fromVersion schema before calling it.
    this.upcasters.set(key(type, fromVersion), upcast as Upcaster);
    return this;
  }

  /** The version new events of this type are written with. */
  currentVersion(type: E['type']): number {
    const version = this.currentVersions.get(type);
    if (version === undefined) throw new EventDecodeError('unknown-type', type, 0);
    return version;
  }

  /** The version new events are written with, per type: what writers pass as `schemaVersions`. */
  writeVersions(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.currentVersions);
  }

  /**
   * Validates a stored envelope's data against its own schema version, upcasts it step by step to
   * the current version (validating each step) and returns it as current. Throws EventDecodeError.
   */
  decode(envelope: EventEnvelope): DecodedEnvelope<E> {
    const { type, schemaVersion } = envelope;
    const current = this.currentVersions.get(type);
    if (current === undefined) throw new EventDecodeError('unknown-type', type, schemaVersion);
    let data = this.parse(type, schemaVersion, envelope.data, schemaVersion);
    for (let version = schemaVersion; version < current; version++) {
      const upcast = this.upcasters.get(key(type, version));
      if (!upcast) throw new EventDecodeError('missing-upcaster', type, schemaVersion);
      data = this.parse(type, version + 1, upcast(data), schemaVersion);
    }
    // Sound because `data` now matches the current schema registered for `type`.
    return { ...envelope, schemaVersion: current, data } as DecodedEnvelope<E>;
  }

  private parse(type: string, version: number, data: unknown, storedVersion: number): unknown {
    const schema = this.schemas.get(key(type, version));
    if (!schema) throw new EventDecodeError('unknown-version', type, storedVersion);
    const result = schema.safeParse(data);
    if (!result.success) throw new EventDecodeError('invalid-data', type, storedVersion, { cause: result.error });
    return result.data;
  }
}

function key(type: string, schemaVersion: number): string {
  return `${type}@${schemaVersion}`;
}

/** A registry with every event of the platform. New versions and their upcasters are added here. */
export function defaultEventRegistry(): EventRegistry<PlatformEvent> {
  return new EventRegistry<PlatformEvent>()
    .register('notebook.created', 1, NotebookCreatedV1)
    .register('notebook.updated', 1, NotebookUpdatedV1)
    .register('notebook.deleted', 1, NotebookDeletedV1)
    .register('notebook.forked', 1, NotebookForkedV1)
    .register('notebook.restored', 1, NotebookRestoredV1)
    .register('notebook.shared', 1, NotebookSharedV1)
    .register('notebook.unshared', 1, NotebookUnsharedV1)
    .register('cell.created', 1, CellCreatedV1)
    .register('cell.updated', 1, CellUpdatedV1)
    .register('cell.updated', 2, CellUpdatedV2)
    .registerUpcaster('cell.updated', 1, upcastCellUpdatedV1)
    .register('cell.moved', 1, CellMovedV1)
    .register('cell.deleted', 1, CellDeletedV1)
    .register('cell.executed', 1, CellExecutedV1)
    .register('cell.failed', 1, CellFailedV1)
    .register('user.registered', 1, UserRegisteredV1)
    .register('user.updated', 1, UserUpdatedV1);
}

/** The event types each stream category holds. */
export const EVENT_TYPES: { [C in EventCategory]: ReadonlySet<CategoryEvent<C>['type']> } = {
  notebooks: new Set<NotebookEvent['type']>([
    'notebook.created',
    'notebook.updated',
    'notebook.deleted',
    'notebook.forked',
    'notebook.restored',
    'notebook.shared',
    'notebook.unshared',
    'cell.created',
    'cell.updated',
    'cell.moved',
    'cell.deleted',
  ]),
  users: new Set<UserEvent['type']>(['user.registered', 'user.updated']),
  executions: new Set<ExecutionEvent['type']>(['cell.executed', 'cell.failed']),
};

/** The events of one stream category. */
export type CategoryEvent<C extends EventCategory> = {
  notebooks: NotebookEvent;
  users: UserEvent;
  executions: ExecutionEvent;
}[C];

/**
 * Decodes envelopes of one category's stream with `registry` (validated, upcast) and refuses an
 * event that does not belong there, so folds see only their own events.
 */
export function eventDecoder<C extends EventCategory>(
  category: C,
  registry: EventRegistry<PlatformEvent> = defaultEventRegistry(),
): (envelope: EventEnvelope) => DecodedEnvelope<CategoryEvent<C>> {
  const types: ReadonlySet<string> = EVENT_TYPES[category];
  return (envelope) => {
    if (!types.has(envelope.type)) throw new EventDecodeError('unknown-type', envelope.type, envelope.schemaVersion);
    // Sound: the registry validated the data for this type, and the type belongs to the category.
    return registry.decode(envelope) as DecodedEnvelope<CategoryEvent<C>>;
  };
}
