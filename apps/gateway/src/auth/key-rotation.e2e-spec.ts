import { createTestInfra, ServiceProcess, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { errorCode, graphql } from '../../test/graphql-client';

function ed25519(kid: string) {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const publicJwk = { ...createPublicKey(privateKey).export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, pem, publicJwk };
}

describe('signing keys', () => {
  let infra: TestInfra;
  let gateway: RunningServices;
  const running: RunningServices[] = [];
  const ME = '{ me { id } }';

  const startAuth = async (env: Record<string, string>) => {
    const auth = await startServices(['auth-service'], infra.serviceEnv(env));
    running.push(auth);
    return auth;
  };

  beforeAll(async () => {
    infra = await createTestInfra();
    gateway = await startServices(['gateway'], infra.serviceEnv({ JWKS_REFRESH_COOLDOWN_MS: '0' }));
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), ...running.map((r) => r.stop())]);
    await infra.dispose();
  });

  it('rotate without logging anyone out: the new key signs, the previous one still verifies', async () => {
    const first = ed25519('key-1');
    const second = ed25519('key-2');
    const url = gateway.url('gateway');
    const email = `rotating-${randomUUID().slice(0, 8)}@example.com`;

    const before = await startAuth({ JWT_PRIVATE_KEY: first.pem, JWT_KEY_ID: first.kid });
    const registered = await graphql<{ register: { accessToken: string } }>(
      url,
      'mutation($email: String!) { register(input: { email: $email, password: "correct horse battery", displayName: "R" }) { accessToken } }',
      { email },
    );
    const oldToken = registered.data?.register.accessToken ?? '';
    expect(JSON.parse(Buffer.from(oldToken.split('.')[0] ?? '', 'base64url').toString()).kid).toBe('key-1');
    expect((await graphql(url, ME, {}, { authorization: `Bearer ${oldToken}` })).errors).toBeUndefined();
    await before.stop();

    await startAuth({ JWT_PRIVATE_KEY: second.pem, JWT_KEY_ID: second.kid, JWT_PREVIOUS_PUBLIC_KEYS: JSON.stringify([first.publicJwk]) });
    const loggedIn = await graphql<{ login: { accessToken: string } }>(
      url,
      'mutation($email: String!) { login(input: { email: $email, password: "correct horse battery" }) { accessToken } }',
      { email },
    );
    const newToken = loggedIn.data?.login.accessToken ?? '';
    expect(JSON.parse(Buffer.from(newToken.split('.')[0] ?? '', 'base64url').toString()).kid).toBe('key-2');

    for (const token of [newToken, oldToken]) {
      const me = await graphql(url, ME, {}, { authorization: `Bearer ${token}` });
      expect({ errors: me.errors, data: me.data }).toEqual({ errors: undefined, data: { me: { id: expect.any(String) } } });
    }
    expect(errorCode(await graphql(url, ME, {}, { authorization: `Bearer ${oldToken.split('.').slice(0, 2).join('.')}.AAAA` }))).toBe('UNAUTHENTICATED');
  });

  it('refuse a private key among the previous public keys, rather than publish it', async () => {
    const old = ed25519('key-old');
    const { privateKey } = generateKeyPairSync('ed25519');
    const leaked = { ...privateKey.export({ format: 'jwk' }), kid: 'key-old' };
    const lines: string[] = [];
    const auth = ServiceProcess.launch('auth-service', {
      env: { ...process.env, ...infra.serviceEnv({ JWT_PRIVATE_KEY: old.pem, JWT_KEY_ID: old.kid, JWT_PREVIOUS_PUBLIC_KEYS: JSON.stringify([leaked]) }) },
      onLine: (line) => lines.push(line),
    });
    expect(await auth.exited).toBe(78);
    expect(lines.join('\n')).toContain('JWT_PREVIOUS_PUBLIC_KEYS: must be a JSON array of public Ed25519 JWKs');
  });

  it('refuse to run in production without a configured key', async () => {
    const lines: string[] = [];
    const auth = ServiceProcess.launch('auth-service', {
      env: { ...process.env, ...infra.serviceEnv({ NODE_ENV: 'production' }) },
      onLine: (line) => lines.push(line),
    });
    expect(await auth.exited).toBe(78);
    expect(lines.join('\n')).toContain('JWT_PRIVATE_KEY: is required when NODE_ENV=production');
  });
});
