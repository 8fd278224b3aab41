import { z } from 'zod';
import { ConfigError, loadConfig, platformEnv } from './config';

describe(loadConfig.name, () => {
  const schema = platformEnv(4101).extend({ FEATURE_LIMIT: z.coerce.number().int().min(1).default(5) });

  it('applies defaults and treats empty variables as unset', () => {
    const config = loadConfig('notebook-service', schema, { PORT: '', NATS_URL: 'nats://a:4222,nats://b:4222' });

    expect(config).toMatchObject({
      PORT: 4101,
      NATS_URL: 'nats://a:4222,nats://b:4222',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/notebooks',
      NATS_NAMESPACE: '',
      FEATURE_LIMIT: 5,
      LOG_LEVEL: 'info',
    });
  });

  it('names every bad variable, what is wrong with it and the value it got', () => {
    const load = () =>
      loadConfig('notebook-service', schema, {
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        NATS_NAMESPACE: 'a.b',
        FEATURE_LIMIT: '0',
        LOG_LEVEL: 'loud',
      });

    expect(load).toThrow(ConfigError);
    let error: ConfigError | undefined;
    try {
      load();
    } catch (thrown) {
      error = thrown as ConfigError;
    }
    expect(error?.problems.map((p) => p.variable).sort()).toEqual(['DATABASE_URL', 'FEATURE_LIMIT', 'LOG_LEVEL', 'NATS_NAMESPACE', 'PORT']);
    expect(error?.message).toMatch(/^notebook-service: invalid configuration\n/);
    expect(error?.message).toContain('DATABASE_URL: must be a postgres:// URL (got "mysql://x")');
    expect(error?.message).toContain('NATS_NAMESPACE: may only contain letters, digits, "_" and "-" (got "a.b")');
  });
});
