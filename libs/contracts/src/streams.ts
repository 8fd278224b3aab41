import { qualifyName, qualifySubject } from './naming';

/**
 * The event log's streams. Each aggregate has one subject, `<category>.<aggregateId>`, so the
 * expected-last-subject-sequence check guards exactly one aggregate.
 */
export const EVENT_STREAMS = {
  notebooks: { stream: 'NOTEBOOKS', subject: 'notebooks' },
  users: { stream: 'USERS', subject: 'users' },
  executions: { stream: 'EXECUTIONS', subject: 'executions' },
} as const;

export type EventCategory = keyof typeof EVENT_STREAMS;

/** One aggregate's event stream. */
export interface StreamRef {
  category: EventCategory;
  id: string;
}

/** Aggregate ids become subject tokens: no dots, wildcards or spaces. */
export const AGGREGATE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export function streamName(namespace: string, category: EventCategory): string {
  return qualifyName(namespace, EVENT_STREAMS[category].stream);
}

export function aggregateSubject(namespace: string, ref: StreamRef): string {
  return qualifySubject(namespace, `${EVENT_STREAMS[ref.category].subject}.${ref.id}`);
}

/** Every aggregate subject of a category (what a projector's consumer filters on). */
export function categorySubjects(namespace: string, category: EventCategory): string {
  return qualifySubject(namespace, `${EVENT_STREAMS[category].subject}.*`);
}

/** The aggregate id in a subject produced by {@link aggregateSubject}. */
export function aggregateIdOf(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}
