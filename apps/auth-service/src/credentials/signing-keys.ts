import { ACCESS_TOKEN_ALGORITHM, type JsonWebKeySet } from '@notebooks/contracts';
import { exportJWK, exportPKCS8, generateKeyPair, importPKCS8, SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import { createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import type { AuthDatabase } from '../database';

export interface SigningKeyConfig {
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  ACCESS_TOKEN_TTL_SECONDS: number;
  JWT_PRIVATE_KEY?: string;
  JWT_KEY_ID?: string;
  JWT_PREVIOUS_PUBLIC_KEYS?: JsonWebKeySet['keys'];
}

/**
 * The key that signs access tokens and the public keys that verify them. A configured key is
 * used as it is; without one (local default) a key is generated once and kept in auth's schema, so
 * replicas share it and tokens outlive a restart.
 */
export class SigningKeys {
  private constructor(
    private readonly config: SigningKeyConfig,
    private readonly kid: string,
    private readonly privateKey: KeyObject,
    /** Published for verifiers: the current key first, then older ones that may still be in use. */
    readonly jwks: JsonWebKeySet,
  ) {}

  static async load(config: SigningKeyConfig, db: Kysely<AuthDatabase>): Promise<SigningKeys> {
    const previous = config.JWT_PREVIOUS_PUBLIC_KEYS ?? [];
    if (config.JWT_PRIVATE_KEY && config.JWT_KEY_ID) {
      const key = (await importPKCS8(config.JWT_PRIVATE_KEY, ACCESS_TOKEN_ALGORITHM, { extractable: true })) as KeyObject;
      return new SigningKeys(config, config.JWT_KEY_ID, key, { keys: [await publicJwk(config.JWT_KEY_ID, key), ...previous] });
    }
    let stored = await db.selectFrom('auth.signing_keys').selectAll().orderBy('created_at', 'desc').execute();
    if (stored.length === 0) {
      const { privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
      const pem = await exportPKCS8(privateKey);
      await db.insertInto('auth.signing_keys').values({ kid: `dev-${randomUUID()}`, private_key_pem: pem }).execute();
      stored = await db.selectFrom('auth.signing_keys').selectAll().orderBy('created_at', 'desc').execute();
    }
    const keys = await Promise.all(
      stored.map(async (row) => ({ kid: row.kid, key: (await importPKCS8(row.private_key_pem, ACCESS_TOKEN_ALGORITHM)) as KeyObject })),
    );
    const [current] = keys;
    if (!current) throw new Error('no signing key');
    return new SigningKeys(config, current.kid, current.key, {
      keys: [...(await Promise.all(keys.map(({ kid, key }) => publicJwk(kid, key)))), ...previous],
    });
  }

  /** A short-lived access token for `userId`. */
  async sign(userId: string): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = new Date((issuedAt + this.config.ACCESS_TOKEN_TTL_SECONDS) * 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: this.kid, typ: 'at+jwt' })
      .setSubject(userId)
      .setIssuer(this.config.JWT_ISSUER)
      .setAudience(this.config.JWT_AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresAt };
  }
}

async function publicJwk(kid: string, privateKey: KeyObject): Promise<JsonWebKeySet['keys'][number]> {
  const jwk = await exportJWK(createPublicKey(privateKey));
  return { ...jwk, kty: jwk.kty ?? 'OKP', kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
}
