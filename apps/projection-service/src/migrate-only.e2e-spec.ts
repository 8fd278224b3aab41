import { jetstreamManager } from '@nats-io/jetstream';
import { createTestInfra, WORKSPACE_ROOT, type TestInfra } from '@notebooks/testing';
import { sql } from 'kysely';
import { spawn } from 'node:child_process';

describe('MIGRATE_ONLY=true', () => {
  let infra: TestInfra;

  beforeAll(async () => {
    infra = await createTestInfra();
  });

  afterAll(async () => {
    await infra.dispose();
  });

  it('applies the migrations and provisions the streams, then exits 0 without serving or consuming', async () => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/projection-service/src/main.ts'], {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...infra.serviceEnv({ MIGRATE_ONLY: 'true', PORT: '1', LOG_LEVEL: 'info' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect({ code, applied: output.includes('migrations applied') }).toEqual({ code: 0, applied: true });
    const db = infra.database();
    const { rows } = await sql<{ count: string }>`select count(*) as count from information_schema.tables where table_schema = 'read'`.execute(db);
    expect(Number(rows[0]?.count)).toBeGreaterThan(5);
    const jsm = await jetstreamManager(await infra.connectNats());
    const streams = (await jsm.streams.names().next()).filter((name) => name.startsWith(infra.namespace));
    expect(streams.length).toBeGreaterThan(0);
    // No projection started: no durable consumer was created.
    for (const stream of streams) expect(await jsm.consumers.list(stream).next()).toEqual([]);
  }, 60_000);
});
