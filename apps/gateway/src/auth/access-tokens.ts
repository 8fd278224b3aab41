import { Inject, Injectable, Logger } from '@nestjs/common';
import { ACCESS_TOKEN_ALGORITHM, AuthSubjects, JsonWebKeySet } from '@notebooks/contracts';
import { NatsRpc } from '@notebooks/platform';
import { createLocalJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { gatewayError } from '../graphql/errors';
import type { Viewer } from '../graphql/context';

export interface TokenConfig {
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  /** A forged kid cannot make the gateway flood auth-service: refetches are this far apart at least. */
  JWKS_REFRESH_COOLDOWN_MS: number;
}
export const TOKEN_CONFIG = Symbol('TOKEN_CONFIG');

/**
 * Verifies access tokens locally with auth-service's public keys (fetched over NATS, cached,
 * refetched when a token names a key not seen yet). The algorithm, issuer and audience are pinned:
 * what the token's header claims is never trusted.
 */
@Injectable()
export class AccessTokens {
  private readonly logger = new Logger(AccessTokens.name);
  private keySet?: JWTVerifyGetKey;
  private fetchedAt = 0;
  private fetching?: Promise<JWTVerifyGetKey>;

  constructor(
    private readonly rpc: NatsRpc,
    @Inject(TOKEN_CONFIG) private readonly config: TokenConfig,
  ) {}

  /** The viewer an `Authorization` header proves, or UNAUTHENTICATED. */
  async verify(authorization: string): Promise<Viewer> {
    const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(authorization.trim())?.[1];
    if (!token) throw gatewayError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <access token>"');
    try {
      const { payload } = await jwtVerify(token, (header, jws) => this.key(header, jws), {
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        issuer: this.config.JWT_ISSUER,
        audience: this.config.JWT_AUDIENCE,
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        clockTolerance: 5,
      });
      return { userId: payload.sub as string };
    } catch (error) {
      if (error instanceof errors.JOSEError) {
        const expired = error instanceof errors.JWTExpired;
        throw gatewayError('UNAUTHENTICATED', expired ? 'the access token has expired' : 'the access token is not valid');
      }
      throw error;
    }
  }

  private async key(...args: Parameters<JWTVerifyGetKey>): Promise<Awaited<ReturnType<JWTVerifyGetKey>>> {
    const keySet = this.keySet ?? (await this.fetchKeys());
    try {
      return await keySet(...args);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || Date.now() - this.fetchedAt < this.config.JWKS_REFRESH_COOLDOWN_MS) throw error;
      return (await this.fetchKeys())(...args);
    }
  }

  private fetchKeys(): Promise<JWTVerifyGetKey> {
    this.fetching ??= this.rpc
      .request(AuthSubjects.jwks, {})
      .then((answer) => {
        const keySet = createLocalJWKSet(JsonWebKeySet.parse(answer));
        this.keySet = keySet;
        this.fetchedAt = Date.now();
        return keySet;
      })
      .catch((error: unknown) => {
        this.logger.warn(`cannot fetch the signing keys: ${String(error)}`);
        throw gatewayError('UNAVAILABLE', 'authentication is unavailable; retry shortly');
      })
      .finally(() => (this.fetching = undefined));
    return this.fetching;
  }
}
