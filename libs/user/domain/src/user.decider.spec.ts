import { type UserEvent, deciderSpecification } from '@notebooks/contracts';
import { UserRejected, decide, evolve, initialState, userDecider } from './user.decider';

const given = deciderSpecification(userDecider, UserRejected, (actual, expected) => expect(actual).toEqual(expected));

const registered: UserEvent = { type: 'user.registered', data: { email: 'ada@example.com', displayName: 'Ada' } };

describe('userDecider', () => {
  describe(decide.name, () => {
    describe('RegisterUser', () => {
      it('registers with a normalized email and a trimmed display name', () => {
        given()
          .when({ type: 'RegisterUser', email: '  Ada@Example.COM ', displayName: ' Ada ' })
          .then(registered);
      });

      it('rejects a user that already exists', () => {
        given(registered)
          .when({ type: 'RegisterUser', email: 'ada@example.com', displayName: 'Ada' })
          .thenRejects('user-already-exists');
      });

      it.each(['', 'ada', 'ada@', '@example.com', 'ada@example', 'a da@example.com', 'ada@@example.com'])(
        'rejects the email %j',
        (email) => {
          given().when({ type: 'RegisterUser', email, displayName: 'Ada' }).thenRejects('invalid-email');
        },
      );

      it.each(['', '   ', 'x'.repeat(101)])('rejects the display name %j', (displayName) => {
        given().when({ type: 'RegisterUser', email: 'ada@example.com', displayName }).thenRejects('invalid-display-name');
      });
    });

    describe('UpdateProfile', () => {
      it('changes the display name', () => {
        given(registered)
          .when({ type: 'UpdateProfile', displayName: 'Ada L.' })
          .then({ type: 'user.updated', data: { displayName: 'Ada L.' } });
      });

      it('is a no-op when the display name is the same', () => {
        given(registered).when({ type: 'UpdateProfile', displayName: ' Ada ' }).then();
      });

      it('rejects a user that does not exist or an invalid display name', () => {
        given().when({ type: 'UpdateProfile', displayName: 'Ada' }).thenRejects('user-not-found');
        given(registered).when({ type: 'UpdateProfile', displayName: 'x'.repeat(101) }).thenRejects('invalid-display-name');
      });
    });
  });

  describe(evolve.name, () => {
    it('folds registration and profile changes', () => {
      const history: UserEvent[] = [registered, { type: 'user.updated', data: { displayName: 'Ada L.' } }];
      const state = history.reduce(evolve, initialState());
      expect(state).toEqual({ status: 'registered', version: 2, email: 'ada@example.com', displayName: 'Ada L.' });
    });
  });
});
