import { jetstream } from '@nats-io/jetstream';
import { aggregateSubject, streamName } from '@notebooks/contracts';
import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { generateKeyPair, importPKCS8, SignJWT, type KeyLike } from 'jose';
import { randomUUID } from 'node:crypto';
import { errorCode, graphql } from '../../test/graphql-client';

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken expiresAt user { id email displayName createdAt } } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresAt user { id email } } }`;
const REFRESH = `mutation($token: String!) { refresh(refreshToken: $token) { accessToken refreshToken } }`;
const LOGOUT = `mutation($token: String!) { logout(refreshToken: $token) }`;
const ME = `{ me { id email displayName } }`;

interface Session {
  accessToken: string;
  refreshToken: string;
  expiresAt: string;
  user: { id: string; email: string; displayName: string; createdAt: string };
}

describe('authentication through the gateway', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let gateway: string;
  let address = 0;
  /** A fresh client address per login sequence, so per-address limits only bite where a test wants them. */
  const from = () => ({ 'x-forwarded-for': `203.0.113.${++address}` });
  const email = () => `Ada.${randomUUID().slice(0, 8)}@Example.com`;

  const register = async (input: { email: string; password?: string; displayName?: string }, headers = from()) =>
    graphql<{ register: Session }>(gateway, REGISTER, { input: { password: 'correct horse battery', displayName: 'Ada', ...input } }, headers);
  const login = async (input: { email: string; password: string }, headers = from()) =>
    graphql<{ login: Session }>(gateway, LOGIN, { input }, headers);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['auth-service', 'gateway'], infra.serviceEnv(), {
      'auth-service': {
        LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
        LOGIN_MAX_ATTEMPTS_PER_ADDRESS: '6',
        REGISTER_MAX_PER_ADDRESS: '3',
        REFRESH_REUSE_GRACE_SECONDS: '0',
      },
      gateway: { TRUST_PROXY: 'true' },
    });
    gateway = services.url('gateway');
  });

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  it('registers, logs in and answers me with the bearer token', async () => {
    const address = email();
    const registered = await register({ email: address, displayName: '  Ada Lovelace ' });
    expect(registered.errors).toBeUndefined();
    const session = registered.data?.register as Session;
    expect(session.user).toMatchObject({ email: address.toLowerCase(), displayName: 'Ada Lovelace' });
    expect(new Date(session.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const loggedIn = await login({ email: address.toUpperCase(), password: 'correct horse battery' });
    expect(loggedIn.data?.login.user.id).toBe(session.user.id);

    const me = await graphql<{ me: Session['user'] }>(gateway, ME, {}, bearer(loggedIn.data?.login.accessToken ?? ''));
    expect(me.data?.me).toEqual({ id: session.user.id, email: address.toLowerCase(), displayName: 'Ada Lovelace' });
    expect((await graphql(gateway, ME)).data).toEqual({ me: null });
  });

  it('puts user.registered on the USERS stream, with no credentials in it', async () => {
    const session = (await register({ email: email() })).data?.register as Session;
    const js = jetstream(await infra.connectNats());
    const deadline = Date.now() + 5_000;
    let stored: Uint8Array | undefined;
    while (!stored && Date.now() < deadline) {
      stored = await js.jetstreamManager().then((jsm) =>
        jsm.streams
          .getMessage(streamName(infra.namespace, 'users'), { last_by_subj: aggregateSubject(infra.namespace, { category: 'users', id: session.user.id }) })
          .then((m) => m?.data)
          .catch(() => undefined),
      );
    }
    const commit = JSON.parse(new TextDecoder().decode(stored)) as { events: { type: string; data: Record<string, unknown> }[] };
    expect(commit.events).toEqual([
      expect.objectContaining({ type: 'user.registered', version: 1, data: { email: session.user.email, displayName: 'Ada' } }),
    ]);
    expect(JSON.stringify(commit)).not.toMatch(/argon2|password|correct horse|refresh/i);
  });

  it('publishes user events a crash left in the outbox (committed, never appended)', async () => {
    const userId = randomUUID();
    const db = infra.database<{ 'auth.outbox': { stream_id: string; events: string; actor_id: string; idempotency_key: string; published_at: Date | null } }>();
    await db
      .insertInto('auth.outbox')
      .values({
        stream_id: userId,
        events: JSON.stringify([{ type: 'user.registered', data: { email: 'stranded@example.com', displayName: 'Stranded' } }]),
        actor_id: userId,
        idempotency_key: `user.registered:${userId}`,
        published_at: null,
      })
      .execute();
    const jsm = await jetstream(await infra.connectNats()).jetstreamManager();
    const subject = aggregateSubject(infra.namespace, { category: 'users', id: userId });
    const deadline = Date.now() + 10_000;
    let stored: Uint8Array | undefined;
    while (!stored && Date.now() < deadline) {
      stored = await jsm.streams.getMessage(streamName(infra.namespace, 'users'), { last_by_subj: subject }).then((m) => m?.data);
      if (!stored) await new Promise((r) => setTimeout(r, 100));
    }

    expect(JSON.parse(new TextDecoder().decode(stored)).events[0]).toMatchObject({ type: 'user.registered', data: { displayName: 'Stranded' } });
    const row = await db.selectFrom('auth.outbox').select('published_at').where('stream_id', '=', userId).executeTakeFirstOrThrow();
    expect(row.published_at).toBeInstanceOf(Date);
  });

  it('refuses duplicate and malformed registrations, and lets one of concurrent registrations of an email win', async () => {
    const address = email();
    await register({ email: address });
    const duplicate = await register({ email: address.toUpperCase() });
    expect(errorCode(duplicate)).toBe('BAD_USER_INPUT');
    expect(duplicate.errors?.[0]?.message).toContain('already registered');

    for (const bad of [
      { email: 'not an email' },
      { email: email(), password: 'short' },
      { email: email(), password: 'x'.repeat(257) },
      { email: email(), displayName: '   ' },
      { email: email(), displayName: 'x'.repeat(101) },
      { email: email(), displayName: 'Ada\u0000' },
      { email: email(), displayName: 'Ada\ud800' },
      { email: email(), displayName: '\u202e' },
    ]) {
      const response = await register(bad);
      expect({ bad, code: errorCode(response), data: response.data }).toEqual({ bad, code: 'BAD_USER_INPUT', data: null });
    }

    const contested = email();
    const results = await Promise.all(Array.from({ length: 5 }, () => register({ email: contested })));
    expect(errorCode(await login({ email: 'a\u0000@example.com', password: 'whatever it is' }))).toBe('BAD_USER_INPUT');
    expect(results.filter((r) => r.data?.register)).toHaveLength(1);
    expect(results.filter((r) => errorCode(r) === 'BAD_USER_INPUT')).toHaveLength(4);
  });

  it('answers a wrong password and an unknown email alike', async () => {
    const address = email();
    await register({ email: address });
    const wrong = await login({ email: address, password: 'wrong password!' });
    const unknown = await login({ email: email(), password: 'wrong password!' });

    expect(errorCode(wrong)).toBe('UNAUTHENTICATED');
    expect(unknown.errors).toEqual(wrong.errors);
  });

  it('rotates refresh tokens, and revokes the family when a rotated token comes back', async () => {
    const first = (await register({ email: email() })).data?.register as Session;
    const second = (await graphql<{ refresh: Session }>(gateway, REFRESH, { token: first.refreshToken })).data?.refresh as Session;
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await graphql<{ me: { id: string } }>(gateway, ME, {}, bearer(second.accessToken))).data?.me.id).toBe(first.user.id);

    const replay = await graphql(gateway, REFRESH, { token: first.refreshToken });
    expect(errorCode(replay)).toBe('UNAUTHENTICATED');
    // The replay revoked the family: the token the legitimate client holds stops working too.
    expect(errorCode(await graphql(gateway, REFRESH, { token: second.refreshToken }))).toBe('UNAUTHENTICATED');
  });

  it('revokes a family completely even while one of its tokens is being refreshed', async () => {
    for (let round = 0; round < 8; round++) {
      const session = (await register({ email: email() })).data?.register as Session;
      const [refreshed] = await Promise.all([
        graphql<{ refresh: Session }>(gateway, REFRESH, { token: session.refreshToken }),
        graphql(gateway, LOGOUT, { token: session.refreshToken }),
      ]);
      const survivor = refreshed.data?.refresh.refreshToken;
      if (survivor) expect(errorCode(await graphql(gateway, REFRESH, { token: survivor }))).toBe('UNAUTHENTICATED');
    }
  });

  it('logs out: the session\'s refresh token stops working', async () => {
    const session = (await register({ email: email() })).data?.register as Session;
    expect((await graphql(gateway, LOGOUT, { token: session.refreshToken })).data).toEqual({ logout: true });
    expect(errorCode(await graphql(gateway, REFRESH, { token: session.refreshToken }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await graphql(gateway, REFRESH, { token: 'never-issued' }))).toBe('UNAUTHENTICATED');
  });

  describe('access tokens', () => {
    let user: Session['user'];
    let devKey: { kid: string; key: KeyLike };
    const sign = (claims: Record<string, unknown>, options: { key?: KeyLike; kid?: string; expiresIn?: string } = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', kid: options.kid ?? devKey.kid })
        .setSubject(user.id)
        .setIssuedAt()
        .setJti(randomUUID())
        .setExpirationTime(options.expiresIn ?? '5m')
        .sign(options.key ?? devKey.key);
    const meWith = (token: string) => graphql(gateway, ME, {}, bearer(token));

    beforeAll(async () => {
      user = ((await register({ email: email() })).data?.register as Session).user;
      const row = await infra
        .database<{ 'auth.signing_keys': { kid: string; private_key_pem: string } }>()
        .selectFrom('auth.signing_keys')
        .selectAll()
        .executeTakeFirstOrThrow();
      devKey = { kid: row.kid, key: await importPKCS8(row.private_key_pem, 'EdDSA') };
    });

    it('accepts a well-formed token of the right issuer and audience', async () => {
      const token = await sign({ iss: 'notebooks-auth', aud: 'notebooks-api' });
      expect((await meWith(token)).data).toEqual({ me: expect.objectContaining({ id: user.id }) });
    });

    it.each([
      ['alg none', async () => `${b64({ alg: 'none', kid: devKey.kid })}.${b64({ sub: user.id, iss: 'notebooks-auth', aud: 'notebooks-api', exp: 9e9, iat: 1, jti: 'x' })}.`],
      ['a tampered payload', async () => {
        const [header, , signature] = (await sign({ iss: 'notebooks-auth', aud: 'notebooks-api' })).split('.');
        return `${header}.${b64({ sub: randomUUID(), iss: 'notebooks-auth', aud: 'notebooks-api', exp: 9e9, iat: 1, jti: 'x' })}.${signature}`;
      }],
      ['an expired token', () => sign({ iss: 'notebooks-auth', aud: 'notebooks-api' }, { expiresIn: '-1m' })],
      ['another audience', () => sign({ iss: 'notebooks-auth', aud: 'someone-else' })],
      ['another issuer', () => sign({ iss: 'evil', aud: 'notebooks-api' })],
      ['a key auth never published', async () => sign({ iss: 'notebooks-auth', aud: 'notebooks-api' }, { key: (await generateKeyPair('EdDSA')).privateKey, kid: 'forged' })],
      ['a key swapped under a known kid', async () => sign({ iss: 'notebooks-auth', aud: 'notebooks-api' }, { key: (await generateKeyPair('EdDSA')).privateKey })],
      ['garbage', async () => 'not-a-jwt'],
    ])('refuses %s with UNAUTHENTICATED and 401', async (_, make) => {
      const response = await meWith(await make());
      expect({ status: response.status, code: errorCode(response), data: response.data ?? null }).toEqual({ status: 401, code: 'UNAUTHENTICATED', data: null });
    });

    it('says an expired token has expired', async () => {
      const response = await meWith(await sign({ iss: 'notebooks-auth', aud: 'notebooks-api' }, { expiresIn: '-1m' }));
      expect(response.errors?.[0]?.message).toBe('the access token has expired');
    });
  });

  describe('rate limiting', () => {
    it('locks an account after repeated failures, even for the right password, and says when to retry', async () => {
      const address = email();
      await register({ email: address });
      for (let i = 0; i < 3; i++) expect(errorCode(await login({ email: address, password: 'wrong password!' }))).toBe('UNAUTHENTICATED');

      const locked = await login({ email: address, password: 'correct horse battery' });
      expect(errorCode(locked)).toBe('RATE_LIMITED');
      expect(locked.errors?.[0]?.extensions?.retryAfterSeconds).toEqual(expect.any(Number));
    });

    it('counts parallel guesses too, and locks accounts with the longest emails', async () => {
      const address = `${'l'.repeat(240)}@example.com`;
      await register({ email: address });
      const codes = await Promise.all(Array.from({ length: 10 }, () => login({ email: address, password: 'wrong password!' })).map((r) => r.then(errorCode)));
      expect(codes.filter((c) => c === 'UNAUTHENTICATED').length).toBeLessThanOrEqual(3);
      expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(7);
      expect(codes.every((c) => c === 'UNAUTHENTICATED' || c === 'RATE_LIMITED')).toBe(true);
    });

    it('limits registrations from one client address', async () => {
      const client = from();
      const codes: (string | undefined)[] = [];
      for (let i = 0; i < 4; i++) codes.push(errorCode(await register({ email: email() }, client)));
      expect(codes).toEqual([undefined, undefined, undefined, 'RATE_LIMITED']);
    });

    it('limits attempts from one client address across accounts', async () => {
      const client = from();
      const codes: (string | undefined)[] = [];
      for (let i = 0; i < 7; i++) codes.push(errorCode(await login({ email: email(), password: 'whatever it is' }, client)));
      expect(codes).toEqual([...Array(6).fill('UNAUTHENTICATED'), 'RATE_LIMITED']);
      expect(errorCode(await login({ email: email(), password: 'whatever it is' }))).toBe('UNAUTHENTICATED');
    });
  });
});

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
