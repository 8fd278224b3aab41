import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL, redact, resolveTarget } from './connections';
import { writePlatformFile, type PlatformFile } from './platform-file';

describe(resolveTarget.name, () => {
  let dir: string;
  const platform = (pid: number): PlatformFile => ({
    pid,
    startedAt: new Date().toISOString(),
    natsUrl: 'nats://platform:4222',
    databaseUrl: 'postgres://platform/notebooks',
    namespace: 'dev',
    services: { gateway: 'http://127.0.0.1:4001' },
  });

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ops-target-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes flags over the environment over the platform file', () => {
    const platformFile = join(dir, 'platform.json');
    writePlatformFile(platformFile, platform(process.pid));
    const env = { NATS_URL: 'nats://env:4222', NATS_NAMESPACE: 'envns' };

    const sut = resolveTarget({ platformFile, database: 'postgres://flag/db' }, env);

    expect(sut).toMatchObject({ natsUrl: 'nats://env:4222', databaseUrl: 'postgres://flag/db', namespace: 'envns', platformFile });
    expect(sut.services).toEqual([{ name: 'gateway', url: 'http://127.0.0.1:4001' }]);
  });

  it('reads DATA_DIR/platform.json of a running npm start', () => {
    writePlatformFile(join(dir, 'platform.json'), platform(process.pid));
    expect(resolveTarget({}, { DATA_DIR: dir })).toMatchObject({ natsUrl: 'nats://platform:4222', namespace: 'dev' });
  });

  it('ignores a platform file whose npm start is gone, says so, and falls back to the local defaults', () => {
    const platformFile = join(dir, 'platform.json');
    writePlatformFile(platformFile, platform(2 ** 22 + 1)); // above Linux's pid_max default

    const sut = resolveTarget({ platformFile }, {});

    expect(sut).toMatchObject({ natsUrl: DEFAULT_NATS_URL, databaseUrl: DEFAULT_DATABASE_URL, namespace: '' });
    expect(sut.services.find((s) => s.name === 'gateway')?.url).toBe('http://127.0.0.1:4000');
    expect(sut.notes).toEqual([expect.stringContaining('is gone')]);
  });

  it('hides passwords in URLs it shows', () => {
    expect(redact('postgres://app:s3cret@db:5432/notebooks')).toBe('postgres://app:***@db:5432/notebooks');
  });
});
