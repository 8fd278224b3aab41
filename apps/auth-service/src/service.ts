import { Module } from '@nestjs/common';
import { EventStoreModule, platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { join } from 'node:path';
import { z } from 'zod';
import { CredentialsModule } from './credentials/credentials.module';

/** Public Ed25519 keys only: a pasted private key (`d`) would otherwise be published in the JWKS. */
const PreviousPublicKeys = z.array(
  z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string().min(1), kid: z.string().min(1) }).catchall(z.unknown()).refine((jwk) => !('d' in jwk), 'must not contain a private key'),
);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const seconds = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

export const authEnv = platformEnv(4102)
  .extend({
    JWT_ISSUER: z.string().trim().min(1).default('notebooks-auth'),
    JWT_AUDIENCE: z.string().trim().min(1).default('notebooks-api'),
    /** PKCS#8 PEM of an Ed25519 key; required in production, generated and kept in the database otherwise. */
    JWT_PRIVATE_KEY: z.string().trim().startsWith('-----BEGIN PRIVATE KEY-----', 'must be a PKCS#8 PEM Ed25519 key').optional(),
    JWT_KEY_ID: z.string().trim().min(1).max(64).optional(),
    /** JSON array of public JWKs still accepted while tokens signed with them live (key rotation). */
    JWT_PREVIOUS_PUBLIC_KEYS: z
      .string()
      .transform((text, context) => {
        const parsed = PreviousPublicKeys.safeParse(parseJson(text));
        if (parsed.success) return parsed.data.map(({ kid, crv, x }) => ({ kty: 'OKP', crv, x, kid, alg: 'EdDSA', use: 'sig' }));
        context.addIssue({ code: 'custom', message: 'must be a JSON array of public Ed25519 JWKs (kty OKP, crv, x, kid) and nothing private' });
        return z.NEVER;
      })
      .optional(),
    ACCESS_TOKEN_TTL_SECONDS: seconds(900, 86_400),
    REFRESH_TOKEN_TTL_SECONDS: seconds(30 * 86_400, 365 * 86_400),
    /** A rotated refresh token used again within this window is refused without revoking its family (a lost response). */
    REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
    LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
    LOGIN_FAILURE_WINDOW_SECONDS: seconds(900, 86_400),
    LOGIN_MAX_ATTEMPTS_PER_ADDRESS: z.coerce.number().int().min(1).default(50),
    LOGIN_ADDRESS_WINDOW_SECONDS: seconds(300, 86_400),
    REGISTER_MAX_PER_ADDRESS: z.coerce.number().int().min(1).default(20),
    REGISTER_WINDOW_SECONDS: seconds(3_600, 86_400),
  })
  .superRefine((env, context) => {
    if (env.NODE_ENV === 'production' && !env.JWT_PRIVATE_KEY) {
      context.addIssue({ code: 'custom', path: ['JWT_PRIVATE_KEY'], message: 'is required when NODE_ENV=production' });
    }
    if (env.JWT_PRIVATE_KEY && !env.JWT_KEY_ID) {
      context.addIssue({ code: 'custom', path: ['JWT_KEY_ID'], message: 'is required with JWT_PRIVATE_KEY' });
    }
  });
export type AuthConfig = z.infer<typeof authEnv>;

@Module({})
export class AuthModule {}

export const authService: ServiceDefinition<AuthConfig> = {
  name: 'auth-service',
  env: authEnv,
  module: (config) => ({
    module: AuthModule,
    imports: [
      PlatformModule.forRoot({
        service: 'auth-service',
        config,
        database: { schema: 'auth', migrationsFolder: join(__dirname, '..', 'migrations') },
      }),
      EventStoreModule.forRoot(),
      CredentialsModule.forRoot(config),
    ],
  }),
};
