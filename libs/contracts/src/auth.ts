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
const DisplayName = z.string().trim().min(1).max(UserLimits.displayNameMaxLength);
/** Opaque refresh token: 32 random bytes, base64url. */
const RefreshToken = z.string().min(1).max(128);

export const RegisterRequest = z.object({ email: EmailAddress, password: Password, displayName: DisplayName });
export type RegisterRequest = z.infer<typeof RegisterRequest>;

/** Login checks nothing but the sizes: a malformed email is just a wrong one. */
export const LoginRequest = z.object({
  email: z.string().max(UserLimits.emailMaxLength * 2),
  password: z.string().max(PasswordLimits.maxLength),
  /** The client's address as the gateway saw it, for per-address rate limiting. */
  clientAddress: z.string().max(64).optional(),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const RefreshRequest = z.object({ refreshToken: RefreshToken });
export type RefreshRequest = z.infer<typeof RefreshRequest>;

export const UserRequest = z.object({ userId: z.uuid() });

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
