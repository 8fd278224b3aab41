import { Inject, Injectable } from '@nestjs/common';
import { hash, verify, Algorithm } from '@node-rs/argon2';
import type { AuthSession, LoginRequest, RefreshRequest, RegisterRequest, UserProfile, UserRequest } from '@notebooks/contracts';
import { DATABASE, RpcException } from '@notebooks/platform';
import { initialState, userDecider, UserRejected } from '@notebooks/user-domain';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AuthDatabase } from '../database';
import type { AuthConfig } from '../service';
import { LoginThrottle } from './login-throttle';
import { SigningKeys } from './signing-keys';
import { UserOutbox } from './user-outbox';

/** argon2id at OWASP's minimum: 19 MiB, 2 passes, 1 lane. */
const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const AUTH_CONFIG = Symbol('AUTH_CONFIG');

type UserRow = Selectable<AuthDatabase['auth.users']>;

const invalidCredentials = () => new RpcException('UNAUTHENTICATED', 'invalid email or password');
const invalidRefreshToken = () => new RpcException('UNAUTHENTICATED', 'refresh token is not valid');

/** Accounts and sessions: registration, login, refresh-token rotation, logout. */
@Injectable()
export class CredentialsService {
  /** Verified against when the email is unknown, so both failures cost the same time. */
  private readonly decoyHash = hash(randomUUID(), ARGON2);

  constructor(
    @Inject(DATABASE) private readonly db: Kysely<AuthDatabase>,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly keys: SigningKeys,
    private readonly throttle: LoginThrottle,
    private readonly outbox: UserOutbox,
  ) {}

  async register(request: RegisterRequest): Promise<AuthSession> {
    await this.throttle.admitRegistration(request.clientAddress);
    const userId = randomUUID();
    let events;
    try {
      events = userDecider.decide({ type: 'RegisterUser', email: request.email, displayName: request.displayName }, initialState());
    } catch (rejection) {
      if (rejection instanceof UserRejected) throw new RpcException('BAD_USER_INPUT', rejection.message);
      throw rejection;
    }
    const passwordHash = await hash(request.password, ARGON2);
    const user = await this.db
      .transaction()
      .execute(async (trx) => {
        const row = await trx
          .insertInto('auth.users')
          .values({ id: userId, email: request.email, display_name: request.displayName.trim(), password_hash: passwordHash })
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.outbox.add(trx, userId, events, `user.registered:${userId}`);
        return row;
      })
      .catch((error: unknown) => {
        // One email, one account: of concurrent registrations the unique index lets exactly one win.
        if ((error as { code?: string }).code === '23505') throw new RpcException('BAD_USER_INPUT', 'that email is already registered');
        throw error;
      });
    await this.outbox.flush().catch(() => undefined); // the relay retries
    return this.db.transaction().execute((trx) => this.openSession(trx, user, randomUUID()));
  }

  async login(request: LoginRequest): Promise<AuthSession> {
    const { email } = request;
    await this.throttle.admitLogin(email, request.clientAddress);
    const user = await this.db.selectFrom('auth.users').selectAll().where('email', '=', email).executeTakeFirst();
    const valid = await verify(user?.password_hash ?? (await this.decoyHash), request.password).catch(() => false);
    if (!user || !valid) throw invalidCredentials();
    await this.throttle.succeeded(email);
    return this.db.transaction().execute((trx) => this.openSession(trx, user, randomUUID()));
  }

  /**
   * Rotates a refresh token: the presented one stops working and a new one of the same family is
   * issued. Presented again within a short grace (a lost response, two tabs), it yields another
   * token of the family; later, it means the token was stolen or replayed: the family is revoked.
   */
  async refresh({ refreshToken }: RefreshRequest): Promise<AuthSession> {
    const outcome = await this.db.transaction().execute(async (trx) => {
      const token = await trx
        .selectFrom('auth.refresh_tokens')
        .selectAll()
        .where('token_hash', '=', digest(refreshToken))
        .forUpdate()
        .executeTakeFirst();
      if (!token || token.revoked_at || token.expires_at.getTime() <= Date.now()) return 'invalid' as const;
      if (token.rotated_at && Date.now() - token.rotated_at.getTime() > this.config.REFRESH_REUSE_GRACE_SECONDS * 1000) {
        await this.revokeFamily(trx, token.family_id);
        return 'invalid' as const;
      }
      if (!token.rotated_at) {
        await trx.updateTable('auth.refresh_tokens').set({ rotated_at: new Date() }).where('token_hash', '=', token.token_hash).execute();
      }
      const user = await trx.selectFrom('auth.users').selectAll().where('id', '=', token.user_id).executeTakeFirstOrThrow();
      return this.openSession(trx, user, token.family_id);
    });
    if (outcome === 'invalid') throw invalidRefreshToken();
    return outcome;
  }

  /** Ends the session the refresh token belongs to (its whole family). Unknown tokens change nothing. */
  async logout({ refreshToken }: RefreshRequest): Promise<boolean> {
    await this.db.transaction().execute(async (trx) => {
      const token = await trx.selectFrom('auth.refresh_tokens').select('family_id').where('token_hash', '=', digest(refreshToken)).executeTakeFirst();
      if (token) await this.revokeFamily(trx, token.family_id);
    });
    return true;
  }

  async user(request: UserRequest): Promise<UserProfile> {
    const query = this.db.selectFrom('auth.users').selectAll();
    const user = await ('userId' in request ? query.where('id', '=', request.userId) : query.where('email', '=', request.email)).executeTakeFirst();
    if (!user) throw new RpcException('NOT_FOUND', 'no such user');
    return profile(user);
  }

  private async openSession(trx: Transaction<AuthDatabase>, user: UserRow, familyId: string): Promise<AuthSession> {
    const access = await this.keys.sign(user.id);
    const refreshToken = randomBytes(32).toString('base64url');
    await trx
      .insertInto('auth.refresh_tokens')
      .values({
        token_hash: digest(refreshToken),
        family_id: familyId,
        user_id: user.id,
        expires_at: new Date(Date.now() + this.config.REFRESH_TOKEN_TTL_SECONDS * 1000),
      })
      .execute();
    return { accessToken: access.token, refreshToken, expiresAt: access.expiresAt.toISOString(), user: profile(user) };
  }

  private async revokeFamily(trx: Transaction<AuthDatabase>, familyId: string): Promise<void> {
    // Lock the family first: a refresh of it that is under way commits its new token before the
    // update below runs, so the update (a new statement, a new snapshot) revokes that token too.
    await trx.selectFrom('auth.refresh_tokens').select('token_hash').where('family_id', '=', familyId).orderBy('token_hash').forUpdate().execute();
    await trx
      .updateTable('auth.refresh_tokens')
      .set({ revoked_at: new Date() })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .execute();
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function profile(user: UserRow): UserProfile {
  return { id: user.id, email: user.email, displayName: user.display_name, createdAt: user.created_at.toISOString() };
}
