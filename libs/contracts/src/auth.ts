import { z } from 'zod';
import { EmailAddress, UserLimits } from './user-events';

/** NATS request/reply subjects of auth-service (queue group: one replica answers). */
export const AuthSubjects = {
  register: 'rpc.auth.register',
  login: 'rpc.auth.login',
  refresh: 'rpc.auth.refresh',
  logout: 'rpc.auth.logout',
  user: 'rpc.auth.user',
  jwks: 'rpc.auth.jwks',
} as const;

/** Passwords are capped before hashing so nobody can make the server hash megabytes. */
export const PasswordLimits = { minLength: 10, maxLength: 256 } as const;

const Password = z.string().min(PasswordLimits.minLength, `a password has at least ${PasswordLimits.minLength} characters`).max(PasswordLimits.maxLength);
/** Text that is stored and shown: well-formed Unicode, no control characters (NUL cannot even be stored). */
const PrintableText = z
  .string()
  .refine((text) => text.isWellFormed() && ![...text].some(isControlCharacter), 'must be printable text');

/** C0 and C1 controls, NUL included. */
function isControlCharacter(character: string): boolean {
  const code = character.codePointAt(0) ?? 0;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}
/** Shown to other users: something visible, and no bidi overrides (they disguise what a name says). */
const DisplayName = PrintableText.pipe(
  z
    .string()
    .trim()
    .min(1)
    .max(UserLimits.displayNameMaxLength)
    .refine((name) => /[\p{L}\p{N}\p{P}\p{S}]/u.test(name) && !/[\u202a-\u202e\u2066-\u2069]/.test(name), 'must have visible characters and no direction overrides'),
);
/** The client's address as the gateway saw it: login and registration are rate-limited per address. */
const ClientAddress = z.string().min(1).max(64);
/** Opaque refresh token: 32 random bytes, base64url. */
const RefreshToken = z.string().min(1).max(128);

export const RegisterRequest = z.object({ email: EmailAddress, password: Password, displayName: DisplayName, clientAddress: ClientAddress });
export type RegisterRequest = z.infer<typeof RegisterRequest>;

/** Login checks little more than sizes: a malformed email is just a wrong one. */
export const LoginRequest = z.object({
  email: PrintableText.pipe(z.string().trim().toLowerCase().max(UserLimits.emailMaxLength)),
  password: z.string().max(PasswordLimits.maxLength),
  clientAddress: ClientAddress,
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const RefreshRequest = z.object({ refreshToken: RefreshToken });
export type RefreshRequest = z.infer<typeof RefreshRequest>;

/** A user by id, or by email (the way people name whom they share with). */
export const UserRequest = z.union([z.object({ userId: z.uuid() }), z.object({ email: EmailAddress })]);
export type UserRequest = z.infer<typeof UserRequest>;

export const UserProfile = z.object({
  id: z.uuid(),
  email: z.string(),
  displayName: z.string(),
  createdAt: z.iso.datetime({ offset: true }),
});
export type UserProfile = z.infer<typeof UserProfile>;

/** What register, login and refresh answer. */
export const AuthSession = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  /** When the access token expires. */
  expiresAt: z.iso.datetime({ offset: true }),
  user: UserProfile,
});
export type AuthSession = z.infer<typeof AuthSession>;

/** The public keys that verify access tokens (RFC 7517). */
export const JsonWebKeySet = z.object({ keys: z.array(z.looseObject({ kid: z.string(), kty: z.string() })) });
export type JsonWebKeySet = z.infer<typeof JsonWebKeySet>;

/** Access tokens are EdDSA (Ed25519) JWTs; verifiers accept no other algorithm. */
export const ACCESS_TOKEN_ALGORITHM = 'EdDSA';
