import { buildSchema, parse, type ExecutionResult } from 'graphql';
import { SharedExecution } from './shared-execution';

const schema = buildSchema(`
  type Query { ok: Boolean }
  type Event { version: Int }
  type Subscription { events: Event, others: Event }
`);

/** A source of events whose `return` is counted: what must be called however a subscription ends. */
function source(payloads: object[]) {
  const state = { returned: 0 };
  const iterator: AsyncIterableIterator<object> = {
    next: async () => (payloads.length > 0 ? { value: payloads.shift() as object, done: false } : new Promise(() => undefined)),
    return: async () => {
      state.returned++;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return { iterator, state };
}

describe(SharedExecution.name, () => {
  const subscribeWith = (sut: SharedExecution, query: string, events: AsyncIterableIterator<object>) => {
    const document = parse(query);
    sut.register(document, query, null, null);
    const rootValue = { events: () => events, others: () => events };
    return sut.subscribe({ schema, document, rootValue, contextValue: { viewer: null } });
  };

  it('finds the subscription field through inline fragments and fragment spreads, and shares by its rule only with two subscribers', async () => {
    const seen: string[] = [];
    const sut = new SharedExecution({ rules: { events: () => (seen.push('events'), true), others: () => (seen.push('others'), false) } });
    const query = 'subscription { ... on Subscription { ...F } } fragment F on Subscription { events { version } }';
    const event = { events: { version: 1 } };
    const first = source([event]);
    const second = source([event]);
    const a = (await subscribeWith(sut, query, first.iterator)) as AsyncIterableIterator<ExecutionResult>;
    const b = (await subscribeWith(sut, query, second.iterator)) as AsyncIterableIterator<ExecutionResult>;

    const [fromA, fromB] = [await a.next(), await b.next()];
    expect(fromA).toEqual({ value: { data: { events: { version: 1 } } }, done: false });
    expect(fromB.value).toBe(fromA.value); // executed once for both
    expect(seen).toEqual(['events', 'events']);
    await a.return?.();
    await b.return?.();
    expect([first.state.returned, second.state.returned]).toEqual([1, 1]);
  });

  it('releases the source when running an event fails', async () => {
    const sut = new SharedExecution({
      rules: {
        events: () => {
          throw new Error('secret detail');
        },
      },
    });
    const query = 'subscription { events { version } }';
    const first = source([{ events: { version: 1 } }]);
    const second = source([{ events: { version: 1 } }]);
    const a = (await subscribeWith(sut, query, first.iterator)) as AsyncIterableIterator<ExecutionResult>;
    await subscribeWith(sut, query, second.iterator);

    await expect(a.next()).rejects.toThrow('secret detail');
    expect(first.state.returned).toBe(1);
  });
});
