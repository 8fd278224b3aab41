import { z } from 'zod';

/** An event as a decider produces it: a fact name and its data. The envelope is added on append. */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}

/** One stored event. `version` is the aggregate's event count after it (1-based): what clients see. */
export const EventEnvelope = z.object({
  id: z.string().min(1),
  streamId: z.string().min(1),
  version: z.number().int().min(1),
  type: z.string().regex(/^[a-z]+(\.[a-z_]+)+$/),
  schemaVersion: z.number().int().min(1),
  occurredAt: z.iso.datetime({ offset: true }),
  actorId: z.string().nullable(),
  correlationId: z.string().nullable(),
  causationId: z.string().nullable(),
  data: z.unknown(),
});
export type EventEnvelope<E extends DomainEvent = DomainEvent> = Omit<z.infer<typeof EventEnvelope>, 'type' | 'data'> & {
  type: E['type'];
  data: E['data'];
};

/**
 * One message on the log: all events of one command, written atomically. Its events carry
 * consecutive versions.
 */
export const CommitMessage = z
  .object({
    commitId: z.string().min(1),
    streamId: z.string().min(1),
    events: z.array(EventEnvelope).min(1),
  })
  .refine((c) => c.events.every((e, i, all) => e.streamId === c.streamId && e.version === (all[0]?.version ?? 0) + i), {
    message: 'events must belong to the commit stream and carry consecutive versions',
  });
export type CommitMessage = z.infer<typeof CommitMessage>;

/**
 * An aggregate as pure functions (CONVENTIONS.md): `decide` turns a command into events or throws a
 * typed rejection; `evolve` folds an event into state. Time and ids are in the command.
 */
export interface Decider<Command, Event extends DomainEvent, State> {
  initialState: () => State;
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
}
