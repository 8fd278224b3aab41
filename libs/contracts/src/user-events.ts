import { z } from 'zod';
import type { DomainEvent } from './commit';

/** Limits the user decider enforces and the auth edge validates with. */
export const UserLimits = { displayNameMaxLength: 100, emailMaxLength: 254 } as const;

/** An email address as the platform stores and compares it: trimmed and lower-cased. */
export const EmailAddress = z.string().trim().toLowerCase().max(UserLimits.emailMaxLength).pipe(z.email());

/** Credentials never enter the log: no password hashes, no tokens. */
export const UserRegisteredV1 = z.object({ email: z.string().min(1), displayName: z.string() });
export type UserRegistered = z.infer<typeof UserRegisteredV1>;

export const UserUpdatedV1 = z.object({ displayName: z.string() });
export type UserUpdated = z.infer<typeof UserUpdatedV1>;

/**
 * Every event of the USERS stream (subject `users.<userId>`), with its current data. Versioned
 * like notebook events: `…V1` schemas are frozen once published.
 */
export type UserEvent = DomainEvent<'user.registered', UserRegistered> | DomainEvent<'user.updated', UserUpdated>;
