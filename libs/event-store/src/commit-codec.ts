import { aggregateIdOf, AGGREGATE_ID_PATTERN, CommitMessage, defaultEventRegistry, type EventCategory, type EventEnvelope, type StreamRef } from '@notebooks/contracts';
import { randomUUID } from 'node:crypto';
import type { CategoryCommit, NewCommit, StreamPosition } from './event-store';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The version each platform event type is written with now. A writer that names none gets these,
 * so new data is never labelled with an older schema (which would make it unreadable for good).
 */
const CURRENT_SCHEMA_VERSIONS = defaultEventRegistry().writeVersions();

/** Builds the commit message for `commit` on top of `after`: versions follow on, ids are new. */
export function buildCommit(ref: StreamRef, commit: NewCommit, after: StreamPosition): CommitMessage {
  const occurredAt = (commit.occurredAt ?? new Date()).toISOString();
  const events: EventEnvelope[] = commit.events.map((event, index) => ({
    id: randomUUID(),
    streamId: ref.id,
    version: after.version + index + 1,
    type: event.type,
    schemaVersion: commit.schemaVersions?.[event.type] ?? CURRENT_SCHEMA_VERSIONS[event.type] ?? 1,
    occurredAt,
    actorId: commit.actorId,
    correlationId: commit.correlationId ?? null,
    causationId: commit.causationId ?? null,
    data: event.data,
  }));
  return { commitId: randomUUID(), streamId: ref.id, events };
}

export function encodeCommit(commit: CommitMessage): Uint8Array {
  return encoder.encode(JSON.stringify(commit));
}

/** Parses and validates a stored commit; throws on anything that is not one. */
export function decodeCommit(payload: Uint8Array): CommitMessage {
  return CommitMessage.parse(JSON.parse(decoder.decode(payload)));
}

export function lastVersion(commit: CommitMessage): number {
  return commit.events[commit.events.length - 1]?.version ?? 0;
}

/** Aggregate ids become subject tokens, so anything else is refused before it reaches the log. */
export function assertAggregateId(ref: StreamRef): void {
  if (!AGGREGATE_ID_PATTERN.test(ref.id)) throw new TypeError(`invalid aggregate id ${JSON.stringify(ref.id)}`);
}

/** A message of a category's log as a reader of the whole category gets it: decoded when it can be. */
export function toCategoryCommit(category: EventCategory, sequence: number, subject: string, payload: Uint8Array): CategoryCommit {
  const ref: StreamRef = { category, id: aggregateIdOf(subject) };
  try {
    return { sequence, ref, subject, payload, commit: decodeCommit(payload) };
  } catch (error) {
    return { sequence, ref, subject, payload, commit: null, error: error instanceof Error ? error.message : String(error) };
  }
}
