import { type Decider, type UserEvent, EmailAddress, UserLimits } from '@notebooks/contracts';

/** A user folded from their events. Credentials live with auth-service, never here. */
export interface UserState {
  readonly status: 'absent' | 'registered';
  /** Number of events folded (0 while absent). */
  readonly version: number;
  /** Normalized: trimmed and lower-cased. */
  readonly email: string | null;
  readonly displayName: string;
}

/** Email uniqueness across users is auth-service's to check; the decider sees one user. */
export interface RegisterUser {
  type: 'RegisterUser';
  email: string;
  displayName: string;
}

export interface UpdateProfile {
  type: 'UpdateProfile';
  displayName: string;
}

export type UserCommand = RegisterUser | UpdateProfile;

export type UserRejectionReason = 'user-already-exists' | 'user-not-found' | 'invalid-email' | 'invalid-display-name';

/** Why the user decider refused a command. The gateway maps `reason` to an error code. */
export class UserRejected extends Error {
  override readonly name = 'UserRejected';

  constructor(
    readonly reason: UserRejectionReason,
    message: string = reason,
  ) {
    super(message);
  }
}

export function initialState(): UserState {
  return { status: 'absent', version: 0, email: null, displayName: '' };
}

/** The events a command produces on `state`, none for a no-op; throws UserRejected. */
export function decide(command: UserCommand, state: UserState): UserEvent[] {
  switch (command.type) {
    case 'RegisterUser': {
      if (state.status !== 'absent') throw new UserRejected('user-already-exists');
      const email = EmailAddress.safeParse(command.email);
      if (!email.success) throw new UserRejected('invalid-email');
      const displayName = validDisplayName(command.displayName);
      return [{ type: 'user.registered', data: { email: email.data, displayName } }];
    }
    case 'UpdateProfile': {
      if (state.status === 'absent') throw new UserRejected('user-not-found');
      const displayName = validDisplayName(command.displayName);
      return displayName === state.displayName ? [] : [{ type: 'user.updated', data: { displayName } }];
    }
    default: {
      const unknownCommand: never = command;
      return unknownCommand;
    }
  }
}

/** The state after one more event. Trusts the event: history is what `decide` produced. */
export function evolve(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case 'user.registered':
      return { ...state, ...event.data, status: 'registered', version: state.version + 1 };
    case 'user.updated':
      return { ...state, ...event.data, version: state.version + 1 };
  }
}

export const userDecider: Decider<UserCommand, UserEvent, UserState> = { initialState, decide, evolve };

function validDisplayName(displayName: string): string {
  const trimmed = displayName.trim();
  if (trimmed.length === 0 || trimmed.length > UserLimits.displayNameMaxLength) {
    const message = `a display name has 1 to ${UserLimits.displayNameMaxLength} characters`;
    throw new UserRejected('invalid-display-name', message);
  }
  return trimmed;
}
