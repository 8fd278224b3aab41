import type { Decider, DomainEvent } from '../commit';
import { deciderSpecification } from './decider-spec';

type Added = DomainEvent<'added', { amount: number }>;
class CounterRejected extends Error {
  constructor(readonly reason: 'not-positive') {
    super(reason);
  }
}
const counter: Decider<{ add: number }, Added, number> = {
  initialState: () => 0,
  decide: ({ add }) => {
    if (add < 0) throw new CounterRejected('not-positive');
    if (add === 99) throw new TypeError('bug');
    return add === 0 ? [] : [{ type: 'added', data: { amount: add } }];
  },
  evolve: (total, event) => total + event.data.amount,
};
const added = (amount: number): Added => ({ type: 'added', data: { amount } });
const given = deciderSpecification(counter, CounterRejected, (actual, expected) => expect(actual).toEqual(expected));

describe(deciderSpecification.name, () => {
  it('passes when the command produces the expected events, and folds them', () => {
    const result = given(added(1)).when({ add: 2 });
    result.then(added(2));
    expect(result.state).toBe(3);
    given(added(1)).when({ add: 0 }).then();
  });

  it('passes when the command is rejected for the expected reason', () => {
    const result = given(added(1)).when({ add: -1 });
    result.thenRejects('not-positive');
    expect(result.state).toBe(1);
  });

  it('fails on other events, or an outcome of the other kind', () => {
    expect(() => given().when({ add: 2 }).then(added(3))).toThrow();
    expect(() => given().when({ add: 2 }).thenRejects('not-positive')).toThrow();
    expect(() => given().when({ add: -1 }).then()).toThrow();
  });

  it('lets errors that are not rejections through', () => {
    expect(() => given().when({ add: 99 })).toThrow(TypeError);
  });
});
