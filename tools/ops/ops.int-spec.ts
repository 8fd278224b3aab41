import { jetstream } from '@nats-io/jetstream';
import { aggregateSubject, type ReadModelTables } from '@notebooks/contracts';
import { JetStreamEventStore } from '@notebooks/event-store';
import { createTestInfra, freePort, startServices, WORKSPACE_ROOT, type RunningServices, type TestInfra } from '@notebooks/testing';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { run } from './cli';
import { writePlatformFile } from './platform-file';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

describe('npm run ops', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let store: JetStreamEventStore;
  let db: Kysely<ReadModelTables>;
  let dir: string;
  let platformFile: string;
  const owner = randomUUID();

  /** The CLI in this process, pointed at this file's servers through a platform file like `npm start` writes. */
  const ops = async (...args: string[]): Promise<Ran> => {
    let stdout = '';
    let stderr = '';
    const code = await run(['--platform-file', platformFile, ...args], {
      env: {},
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    });
    return { code, stdout, stderr };
  };
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await ops('--json', ...args);
    try {
      return JSON.parse(result.stdout) as T;
    } catch {
      throw new Error(`ops ${args.join(' ')} printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
    }
  };
  const eventually = async <T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const value = await probe();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`${what}: last saw ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const createNotebook = async (title: string) => {
    const id = randomUUID();
    await store.append(
      { category: 'notebooks', id },
      { events: [{ type: 'notebook.created', data: { ownerId: owner, title, description: null, visibility: 'PRIVATE', forkedFrom: null } }], actorId: owner },
      'any',
    );
    return id;
  };
  const titleOf = async (id: string) => (await db.selectFrom('read.notebooks').select('title').where('id', '=', id).executeTakeFirst())?.title;

  interface ProjectionsJson {
    projections: { projection: string; schema: string; checkpoint: number; head: number; lag: { total: number } | null; deadLetters: number }[];
  }
  interface DeadLettersJson {
    total: number;
    deadLetters: { id: number; projection: string; sequence: number; aggregateId: string; error: string; attempts: number }[];
  }
  const readNotebooks = async () => (await json<ProjectionsJson>('projections')).projections.find((p) => p.projection === 'read-notebooks');

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['projection-service'], infra.serviceEnv());
    store = await JetStreamEventStore.create(await infra.connectNats(), { namespace: infra.namespace });
    db = infra.database<ReadModelTables>();
    dir = mkdtempSync(join(tmpdir(), 'ops-spec-'));
    platformFile = join(dir, 'platform.json');
    writePlatformFile(platformFile, {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      natsUrl: infra.natsUrl,
      databaseUrl: infra.databaseUrl,
      namespace: infra.namespace,
      services: { 'projection-service': services.url('projection-service') },
    });
  });

  afterAll(async () => {
    await services?.stop();
    await infra?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('health is green with every listed service ready, NATS, Postgres and the namespaced streams', async () => {
    const { code, stdout } = await ops('health');

    expect(code).toBe(0);
    expect(stdout).toMatch(/^projection-service\s+ok\s+ready in \d+ ms/m);
    expect(stdout).toMatch(/^nats\s+ok\s+nats-server/m);
    expect(stdout).toMatch(/^postgres\s+ok\s+PostgreSQL/m);
    for (const stream of ['NOTEBOOKS', 'USERS', 'EXECUTIONS']) expect(stdout).toMatch(new RegExp(`^stream ${infra.namespace}_${stream}\\s+ok\\s+\\d+ messages?`, 'm'));
    expect(stdout).toContain('all 6 components healthy');
    expect(stdout).not.toContain('\u001b['); // not a terminal: no colors
  });

  it('projections shows checkpoint, stream head, lag and dead letters; dead letters lists what is parked', async () => {
    const first = await createNotebook('First');
    await eventually(titleOf.bind(null, first), (title) => title === 'First', 'the notebook was not projected');
    // Garbage on a notebook's subject is parked at once; a valid commit after it waits behind it.
    const poisoned = await createNotebook('Poisoned');
    const js = jetstream(await infra.connectNats());
    const subject = aggregateSubject(infra.namespace, { category: 'notebooks', id: poisoned });
    const garbage = (await js.publish(subject, 'garbage')).seq;
    const update = {
      id: randomUUID(), streamId: poisoned, version: 2, type: 'notebook.updated', schemaVersion: 1, occurredAt: new Date().toISOString(),
      actorId: owner, correlationId: null, causationId: null, data: { title: 'Renamed after the garbage' },
    };
    const behind = (await js.publish(subject, JSON.stringify({ commitId: randomUUID(), streamId: poisoned, events: [update] }))).seq;
    const last = await createNotebook('Last');

    const status = await eventually(readNotebooks, (p) => p?.checkpoint === p?.head && p?.lag?.total === 0 && p?.deadLetters === 2, 'read-notebooks did not catch up');
    expect(status).toMatchObject({ schema: 'read', head: behind + 1, deadLetters: 2 });
    expect(await titleOf(last)).toBe('Last');
    const table = await ops('projections');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^PROJECTION\s+SCHEMA\s+STREAM\s+CHECKPOINT\s+HEAD\s+LAG\s+DEAD LETTERS\s+UPDATED$/m);
    expect(table.stdout).toMatch(new RegExp(`^read-notebooks\\s+read\\s+notebooks\\s+${behind + 1}\\s+${behind + 1}\\s+0\\s+2\\s+\\d+s ago$`, 'm'));

    const listed = await json<DeadLettersJson>('dead-letters', '--projection', 'read-notebooks');
    expect(listed.deadLetters).toEqual([
      expect.objectContaining({ sequence: garbage, aggregateId: poisoned, attempts: 1, error: expect.stringMatching(/^undecodable commit/) }),
      expect.objectContaining({ sequence: behind, aggregateId: poisoned, error: `waiting behind parked sequence ${garbage}` }),
    ]);
    const text = await ops('dead-letters', 'list');
    expect(text.stdout).toMatch(new RegExp(`^\\s*\\d+\\s+read-notebooks\\s+${garbage}\\s+${poisoned}\\s+1\\s+\\d+s ago\\s+undecodable commit`, 'm'));

    // Retrying the garbage fails again; the commit behind it keeps waiting.
    const retried = await ops('dead-letters', 'retry', '--projection', 'read-notebooks');
    expect(retried.code).toBe(1);
    expect(retried.stdout).toContain('read-notebooks: 0 applied, 2 still parked');
    const after = await json<DeadLettersJson>('dead-letters', '--projection', 'read-notebooks', '--aggregate', poisoned);
    expect(after.deadLetters.map((l) => [l.sequence, l.attempts, l.error.split(':')[0]])).toEqual([
      [garbage, 2, 'undecodable commit'],
      [behind, 1, `waiting behind parked sequence ${garbage}`],
    ]);

    // Discard the garbage: it is gone for good, and the commit behind it is pointed out.
    const discarded = await ops('dead-letters', 'discard', '--projection', 'read-notebooks', '--sequence', String(garbage));
    expect(discarded.code).toBe(0);
    expect(discarded.stdout).toContain('discarded 1 parked commit:');
    expect(discarded.stdout).toMatch(new RegExp(`^\\s*\\d+\\s+read-notebooks\\s+${garbage}\\s+${poisoned}`, 'm'));
    expect(discarded.stdout).toContain(`aggregate ${poisoned} still has 1 parked commit(s)`);

    // Now the valid commit applies with the projection's own function.
    const applied = await ops('dead-letters', 'retry', '--projection', 'read-notebooks', '--sequence', String(behind));
    expect(applied).toMatchObject({ code: 0, stderr: '' });
    expect(applied.stdout).toContain('read-notebooks: 1 applied, 0 still parked');
    expect(await titleOf(poisoned)).toBe('Renamed after the garbage');
    expect((await json<DeadLettersJson>('dead-letters')).total).toBe(0);
    expect((await readNotebooks())?.deadLetters).toBe(0);
  });

  it('discard needs an explicit selection, and argument errors exit 64 with usage', async () => {
    const cases = [
      ['dead-letters', 'discard'],
      ['dead-letters', 'discard', '--sequence', '3'],
      ['dead-letters', 'retry'],
      ['dead-letters', 'retry', '--sequence', 'x'],
      ['metrics', 'no-such-service'],
      ['replay'],
      ['no-such-command'],
      [],
    ];
    for (const args of cases) {
      const result = await ops(...args);
      expect({ args, code: result.code }).toEqual({ args, code: 64 });
      expect(result.stderr).toContain('Usage: npm run ops --');
    }
    expect((await ops('dead-letters', 'discard')).stderr).toContain('discard needs an explicit selection');
  });

  it('lag shows every durable consumer; metrics shows latency quantiles and projection gauges', async () => {
    const lag = await json<{ consumers: { stream: string; consumer: string; pending: number; ackPending: number; redelivered: number }[] }>('lag');
    expect(lag.consumers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ stream: `${infra.namespace}_NOTEBOOKS`, consumer: 'read-notebooks', pending: 0, ackPending: 0 }),
        expect.objectContaining({ stream: `${infra.namespace}_USERS`, consumer: 'read-users' }),
      ]),
    );
    expect((await ops('lag')).stdout).toMatch(new RegExp(`^${infra.namespace}_NOTEBOOKS\\s+read-notebooks\\s+0\\s+0\\s+0\\s+\\d+`, 'm'));

    const metrics = await ops('metrics', 'projection-service');
    expect(metrics.code).toBe(0);
    expect(metrics.stdout).toMatch(/^\s+http_request\s+method=GET route=\/health\/ready\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+$/m);
    expect(metrics.stdout).toMatch(/^\s+projection_dead_letters\s+projection=read-notebooks\s+0$/m);
    expect(metrics.stdout).toMatch(/^\s+projection_pending_commits\s+projection=read-notebooks\s+0$/m);
  });

  it('replay runs the replay script with the projection, --fresh and the platform it resolved, and passes on its exit code', async () => {
    const stub = join(dir, 'replay-stub.js');
    const record = join(dir, 'replay-args.json');
    writeFileSync(
      stub,
      `require('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ args: process.argv.slice(2), nats: process.env.NATS_URL, db: process.env.DATABASE_URL, ns: process.env.NATS_NAMESPACE }));
       process.exit(75);`,
    );
    let stderr = '';
    const code = await run(['--platform-file', platformFile, 'replay', 'read-notebooks', '--fresh'], {
      env: {},
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      replayScript: stub,
    });

    expect(code).toBe(75);
    expect(stderr).toContain('another replay of read-notebooks is running');
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual({ args: ['read-notebooks', '--fresh'], nats: infra.natsUrl, db: infra.databaseUrl, ns: infra.namespace });
  });

  it('watch redraws until interrupted, then exits cleanly', async () => {
    const interrupt = new AbortController();
    let stdout = '';
    const watching = run(['--platform-file', platformFile, 'watch', '--interval', '0.2'], {
      env: {},
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => true },
      signal: interrupt.signal,
    });
    await eventually(async () => stdout.split('CONSUMERS').length - 1, (frames) => frames >= 2, 'watch did not redraw');
    interrupt.abort();

    expect(await watching).toBe(0);
    expect(stdout).toMatch(/HEALTH[\s\S]*projection-service\s+ok[\s\S]*PROJECTIONS[\s\S]*read-notebooks[\s\S]*CONSUMERS/);
  });

  it('as a process: Ctrl-C ends watch with exit 0, and an unreachable Postgres is one clear line and exit 69', async () => {
    const main = join(WORKSPACE_ROOT, 'tools', 'ops', 'main.ts');
    const spawnOps = (args: string[]) => {
      const child = spawn(process.execPath, ['-r', '@swc-node/register', main, ...args], { cwd: WORKSPACE_ROOT, env: { PATH: process.env['PATH'] } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return { child, exited, output: () => ({ stdout, stderr }) };
    };
    const nowhere = await freePort();
    const unreachable = spawnOps(['projections', '--nats', `nats://127.0.0.1:${nowhere}`, '--database', `postgres://ops:secret@127.0.0.1:${nowhere}/notebooks`]);
    const watch = spawnOps(['--platform-file', platformFile, 'watch']);
    await eventually(async () => watch.output().stdout, (stdout) => stdout.includes('CONSUMERS'), 'watch drew nothing');
    watch.child.kill('SIGINT');

    expect(await watch.exited).toBe(0);
    expect(await unreachable.exited).toBe(69);
    expect(unreachable.output().stderr).toBe(`ops: Postgres at postgres://ops:***@127.0.0.1:${nowhere}/notebooks is unreachable: connection refused\n`);
  });

  it('health is red with the reason when a service is down, and exits 1', async () => {
    await services.kill('projection-service');

    const { code, stdout } = await ops('health');

    expect(code).toBe(1);
    expect(stdout).toMatch(/^projection-service\s+down\s+http:\/\/127\.0\.0\.1:\d+ unreachable: connection refused \(not running\?\)$/m);
    expect(stdout).toMatch(/^nats\s+ok/m);
    expect(stdout).toContain('1 of 6 components down');
  });
});
