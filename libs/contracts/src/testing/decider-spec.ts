import type { Decider, DomainEvent } from '../commit';

/** What a command did: the events it produced, or the reason it was rejected. */
export type DeciderOutcome<Event, Reason> = { events: Event[] } | { rejected: Reason };

/** The rejection class of a decider: an Error with a literal `reason`. */
export type RejectionClass<Reason extends string> = abstract new (...args: never[]) => Error & { reason: Reason };

/**
 * Given/when/then for decider specs, without a test framework: `equal` is the spec's deep-equality
 * assertion (e.g. `(actual, expected) => expect(actual).toEqual(expected)`).
 *
 * ```ts
 * given(created, cellCreated('a')).when({ type: 'MoveCell', cellId: 'a', position: 0 }).then();
 * ```
 */
export function deciderSpecification<Command, Event extends DomainEvent, State, Reason extends string>(
  decider: Decider<Command, Event, State>,
  rejection: RejectionClass<Reason>,
  equal: (actual: unknown, expected: unknown) => void,
) {
  const fold = (state: State, events: Event[]) => events.reduce((s, event) => decider.evolve(s, event), state);
  return function given(...history: Event[]) {
    return {
      when(command: Command) {
        const before = fold(decider.initialState(), history);
        const outcome = run(() => decider.decide(command, before));
        return {
          outcome,
          /** The state after folding the history and the produced events (the history's if rejected). */
          state: 'events' in outcome ? fold(before, outcome.events) : before,
          then(...expected: Event[]): void {
            equal(outcome, { events: expected });
          },
          thenRejects(reason: Reason): void {
            equal(outcome, { rejected: reason });
          },
        };
      },
    };
  };

  function run(decide: () => Event[]): DeciderOutcome<Event, Reason> {
    try {
      return { events: decide() };
    } catch (error) {
      if (error instanceof rejection) return { rejected: error.reason };
      throw error;
    }
  }
}
