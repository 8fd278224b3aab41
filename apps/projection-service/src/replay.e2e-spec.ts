import {
  defaultEventRegistry,
  eventDecoder,
  NotebookSubjects,
  type ExecutionEvent,
  type NotebookCommandInput,
  type NotebookCommandReply,
  type ReadModelTables,
  type StreamRef,
} from '@notebooks/contracts';
import { AggregateCache, handleCommand, JetStreamEventStore } from '@notebooks/event-store';
import { notebookDecider, type NotebookCommand, type NotebookState } from '@notebooks/notebook-domain';
import { Metrics, NatsRpc } from '@notebooks/platform';
import { replayStagingSchema } from '@notebooks/projector';
import { createTestInfra, startServices, WORKSPACE_ROOT, type RunningServices, type TestInfra } from '@notebooks/testing';
import { sql, type Kysely } from 'kysely';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { READ_MODEL_PROJECTIONS } from './read-model/projections';

interface ReplayRun {
  child: ChildProcess;
  stdout(): string;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

const [notebooksProjection, usersProjection, executionsProjection] = READ_MODEL_PROJECTIONS as [
  (typeof READ_MODEL_PROJECTIONS)[number],
  (typeof READ_MODEL_PROJECTIONS)[number],
  (typeof READ_MODEL_PROJECTIONS)[number],
];
const decode = eventDecoder('notebooks');

describe('replay <projection>', () => {
  let infra: TestInfra;
  let store: JetStreamEventStore;
  let rpc: NatsRpc;
  let db: Kysely<ReadModelTables>;
  let services: RunningServices;
  const runs: ReplayRun[] = [];
  const owner = randomUUID();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const replay = (...args: string[]): ReplayRun => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/projection-service/src/replay.ts', ...args], {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...infra.serviceEnv({ LOG_LEVEL: 'info' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : null), stdout, stderr })),
    );
    const run = { child, stdout: () => stdout, exited };
    runs.push(run);
    return run;
  };

  /** Every table of a projection, every row, ordered by primary key. */
  const snapshot = async (projection: (typeof READ_MODEL_PROJECTIONS)[number]) => {
    const tables: Record<string, unknown[]> = {};
    for (const table of projection.tables) {
      const { rows: key } = await sql<{ column: string }>`
        select a.attname as column from pg_index x join pg_attribute a on a.attrelid = x.indrelid and a.attnum = any(x.indkey)
        where x.indrelid = ${`${projection.schema}.${table}`}::regclass and x.indisprimary order by array_position(x.indkey, a.attnum)`.execute(db);
      expect(key.length).toBeGreaterThan(0);
      const { rows } = await sql`select * from ${sql.id(projection.schema, table)} order by ${sql.join(key.map((k) => sql.id(k.column)))}`.execute(db);
      tables[table] = rows;
    }
    return tables;
  };

  /** Resolves once the live projection has handled everything on the log. */
  const liveCaughtUp = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const health = (await (await fetch(`${services.url('projection-service')}/health/ready`)).json()) as { info?: Record<string, { pending?: number; ackPending?: number }> };
      const busy = READ_MODEL_PROJECTIONS.some(({ name }) => health.info?.[name]?.pending !== 0 || health.info?.[name]?.ackPending !== 0);
      if (!busy) return;
      if (Date.now() > deadline) throw new Error(`the live projections did not catch up: ${JSON.stringify(health)}`);
      await sleep(100);
    }
  };

  const stagingCheckpoint = async (projection: (typeof READ_MODEL_PROJECTIONS)[number]) => {
    const { rows } = await sql<{ sequence: string }>`select sequence from ${sql.id(replayStagingSchema(projection), 'checkpoints')}`
      .execute(db)
      .catch(() => ({ rows: [] }));
    return Number(rows[0]?.sequence ?? 0);
  };

  const send = (command: NotebookCommandInput) => rpc.request<NotebookCommandReply>(NotebookSubjects.command, { command, actorId: owner }, { timeoutMs: 10_000 });

  /** Notebooks edited in many ways, written straight to the log (much faster than through the service). */
  const writeNotebooks = async (count: number, steps: (i: number) => number) => {
    const cache = new AggregateCache<NotebookState>();
    const options = { decode, cache, schemaVersions: defaultEventRegistry().writeVersions() };
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const ref: StreamRef = { category: 'notebooks', id: randomUUID() };
        const run = (command: NotebookCommand) => handleCommand(store, notebookDecider, { ref, command, actorId: owner }, options);
        await run({ type: 'CreateNotebook', ownerId: owner, title: `Notebook ${i}`, description: null, visibility: i % 2 ? 'PUBLIC' : 'PRIVATE' });
        const cells: string[] = [];
        const runs: StreamRef = { category: 'executions', id: ref.id };
        for (let step = 0; step < steps(i); step++) {
          // A result of one of its cells now and then, some stale (from an older version than one recorded before).
          const ran = cells[step % Math.max(1, cells.length)];
          if (ran && step % 4 === 0) {
            const notebookVersion = step % 8 === 0 ? Math.max(1, step - 5) : step + 1;
            const result = { cellId: ran, notebookVersion, display: `${step}`, html: null, durationMs: step / 2, executedAt: new Date().toISOString() };
            const event: ExecutionEvent =
              step % 3 === 0
                ? { type: 'cell.failed', data: { ...result, status: 'ERROR', value: null, error: `e${step}` } }
                : { type: 'cell.executed', data: { ...result, status: 'OK', value: { step }, error: null } };
            await store.append(runs, { events: [event], actorId: owner }, 'any');
          }
          const pick = cells[step % Math.max(1, cells.length)];
          if (cells.length < 3 || step % 6 === 0) {
            const cellId = randomUUID();
            cells.push(cellId);
            await run({ type: 'AddCell', cellId, kind: step % 3 ? 'JS' : 'MARKDOWN', value: `c${step} = ${step} + x`, position: step % (cells.length) });
          } else if (step % 6 === 1 && pick) await run({ type: 'UpdateCell', cellId: pick, value: `v${step} = c${step - 1}` });
          else if (step % 6 === 2 && pick) await run({ type: 'MoveCell', cellId: pick, position: step % cells.length });
          else if (step % 6 === 3) await run({ type: 'UpdateNotebook', title: `Notebook ${i}.${step}` });
          else if (step % 6 === 4) await run({ type: 'ShareNotebook', userId: randomUUID(), role: step % 12 ? 'VIEWER' : 'EDITOR' });
          else if (pick) {
            await run({ type: 'DeleteCell', cellId: pick });
            cells.splice(cells.indexOf(pick), 1);
          }
        }
      }),
    );
    for (let i = 0; i < 20; i++) {
      const ref: StreamRef = { category: 'users', id: randomUUID() };
      await store.append(ref, { events: [{ type: 'user.registered', data: { email: `u${i}@example.com`, displayName: `U${i}` } }], actorId: ref.id }, 'any');
      if (i % 3 === 0) await store.append(ref, { events: [{ type: 'user.updated', data: { displayName: `U${i}!` } }], actorId: ref.id }, 'any');
    }
  };

  beforeAll(async () => {
    infra = await createTestInfra();
    const nc = await infra.connectNats();
    store = await JetStreamEventStore.create(nc, { namespace: infra.namespace });
    rpc = new NatsRpc(nc, { servers: infra.natsUrl, name: 'replay-test', namespace: infra.namespace }, new Metrics());
    db = infra.database<ReadModelTables>();
    // One long notebook passes NOTEBOOK_SNAPSHOT_INTERVAL, so snapshots are replayed too.
    await writeNotebooks(30, (i) => (i === 0 ? 110 : 40));
    services = await startServices(['notebook-service', 'projection-service'], infra.serviceEnv());
    await liveCaughtUp(60_000);
  }, 120_000);

  afterAll(async () => {
    for (const run of runs) run.child.kill('SIGKILL');
    await services?.stop();
    await infra.dispose();
  });

  it('rebuilds each projection identical, row for row, to the live one', async () => {
    for (const projection of [notebooksProjection, usersProjection, executionsProjection]) {
      const live = await snapshot(projection);
      const { code, stdout, stderr } = await replay(projection.name).exited;

      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toContain(`${projection.name}: replaying `);
      expect(stdout).toMatch(new RegExp(`${projection.name}: swapped the rebuilt tables in at sequence \\d+`));
      expect(await snapshot(projection)).toEqual(live);
    }
    expect((await snapshot(notebooksProjection)).notebook_snapshots?.length).toBeGreaterThan(0);
    expect((await snapshot(executionsProjection)).cell_outputs?.length).toBeGreaterThan(0);
    const { rows } = await sql<{ nspname: string }>`select nspname from pg_namespace where nspname like 'read\\_%'`.execute(db);
    expect(rows).toEqual([]);
  }, 30_000);

  it('resumes, not from scratch, after the replay process is SIGKILLed midway', async () => {
    const live = await snapshot(notebooksProjection);
    const head = await store.head('notebooks');
    const first = replay(notebooksProjection.name, '--fresh', '--batch-size', '20');
    const deadline = Date.now() + 20_000;
    while ((await stagingCheckpoint(notebooksProjection)) < 300 && Date.now() < deadline) await sleep(10);
    first.child.kill('SIGKILL');
    expect((await first.exited).code).toBe(128);
    const reached = await stagingCheckpoint(notebooksProjection);
    expect(reached).toBeGreaterThanOrEqual(300);
    expect(reached).toBeLessThan(head);

    const { code, stdout, stderr } = await replay(notebooksProjection.name, '--batch-size', '200').exited;

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const resumedAt = Number(/resuming the interrupted replay at sequence (\d+) of/.exec(stdout)?.[1]);
    expect(resumedAt).toBe(reached);
    const applied = Number(/(\d+) commits applied by this run \(resumed at (\d+)\)/.exec(stdout)?.[1]);
    expect(applied).toBe(head - reached);
    expect(await snapshot(notebooksProjection)).toEqual(live);
  }, 30_000);

  it('keeps what the live projection applies while it runs: commands sent during the replay are there after the swap', async () => {
    const run = replay(notebooksProjection.name, '--batch-size', '20');
    const written: { notebookId: string; version: number }[] = [];
    let replaying = true;
    void run.exited.then(() => (replaying = false));
    // Paced: a replay can only catch up with a log that grows slower than it replays.
    const writers = Array.from({ length: 2 }, async () => {
      while (replaying && written.length < 300) {
        const { notebookId } = await send({ type: 'CreateNotebook', title: 'During the replay', description: null, visibility: 'PUBLIC' });
        const { version } = await send({ type: 'AddCell', notebookId, kind: 'JS', value: 'x = 1' });
        written.push({ notebookId, version });
        await sleep(20);
      }
    });
    const { code, stderr, stdout } = await run.exited;
    await Promise.all(writers);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('swapped the rebuilt tables in');
    expect(written.length).toBeGreaterThan(10);
    await liveCaughtUp();

    // Each notebook written while the replay ran, and at the hand-over, is in the read model once:
    // its version, its cell, its two history rows, one edit in its activity (a commit applied
    // twice would count two).
    const ids = written.map((w) => w.notebookId);
    const notebooks = await db.selectFrom('read.notebooks').select(['id', 'version', 'title']).where('id', 'in', ids).orderBy('id').execute();
    const cells = await db.selectFrom('read.cells').select(['notebook_id', 'value']).where('notebook_id', 'in', ids).orderBy('notebook_id').execute();
    const history = await db.selectFrom('read.notebook_events').select(['notebook_id', 'version']).where('notebook_id', 'in', ids).orderBy('notebook_id').orderBy('version').execute();
    const activity = await db.selectFrom('read.notebook_activity').select(['notebook_id', 'edits']).where('notebook_id', 'in', ids).orderBy('notebook_id').execute();
    const sorted = [...written].sort((a, b) => a.notebookId.localeCompare(b.notebookId));
    expect(notebooks).toEqual(sorted.map((w) => ({ id: w.notebookId, version: w.version, title: 'During the replay' })));
    expect(cells).toEqual(sorted.map((w) => ({ notebook_id: w.notebookId, value: 'x = 1' })));
    expect(history).toEqual(sorted.flatMap((w) => [1, 2].map((version) => ({ notebook_id: w.notebookId, version }))));
    expect(activity).toEqual(sorted.map((w) => ({ notebook_id: w.notebookId, edits: 1 })));
  }, 30_000);

  it('refuses a second replay of a projection while one runs, with exit code 75', async () => {
    // Someone reads the live users table in a long transaction: the first replay waits to swap.
    const holder = new Client({ connectionString: infra.databaseUrl });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select count(*) from read.users');
      const first = replay(usersProjection.name);
      const deadline = Date.now() + 20_000;
      while (!first.stdout().includes('swap postponed') && Date.now() < deadline) await sleep(50);
      expect(first.stdout()).toContain('swap postponed');

      const second = await replay(usersProjection.name).exited;

      expect(second.code).toBe(75);
      expect(second.stderr).toBe(`a replay of ${usersProjection.name} is already running\n`);
      await holder.query('commit');
      expect((await first.exited).code).toBe(0);
    } finally {
      await holder.end();
    }
  }, 30_000);

  it('refuses an unknown projection with exit code 64, naming the known ones', async () => {
    const { code, stderr } = await replay('read-nothing').exited;

    expect(code).toBe(64);
    expect(stderr).toBe('unknown projection "read-nothing"; known projections: read-notebooks, read-users, read-executions\n');
  });
});
