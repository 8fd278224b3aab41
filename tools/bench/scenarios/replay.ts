import { connect } from '@nats-io/transport-node';
import { defaultEventRegistry, type DomainEvent } from '@notebooks/contracts';
import { JetStreamEventStore, NO_STREAM, type StreamPosition } from '@notebooks/event-store';
import { startServices, WORKSPACE_ROOT } from '@notebooks/testing';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { round } from '../measure';
import type { BenchContext, ScenarioResult } from '../scenario';

const NOTEBOOKS = 200;
const EVENTS_PER_NOTEBOOK = 25;
const TABLES = ['notebooks', 'cells', 'notebook_events', 'notebook_snapshots', 'notebook_activity', 'notebook_contributors', 'user_activity'];
const INSERT_BATCH = 500;

/**
 * `replay read-notebooks` (the real command, from sequence 1 into staging tables, then the swap)
 * next to the floor under it: inserting the very rows the replay produced, in batches of 500, into
 * empty copies of the same tables (same indexes) in one transaction per batch.
 */
export async function replay(context: BenchContext): Promise<ScenarioResult> {
  const namespace = `bench${randomUUID().slice(0, 8)}`;
  const env = { NODE_ENV: 'production', LOG_LEVEL: 'warn', HOST: '127.0.0.1', NATS_URL: context.natsUrl, NATS_NAMESPACE: namespace, DATABASE_URL: context.databaseUrl };
  const services = await startServices(['projection-service'], env);
  const connection = await connect({ servers: context.natsUrl, name: 'bench-replay' });
  const db = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: context.databaseUrl, max: 2 }) }) });
  try {
    const store = await JetStreamEventStore.create(connection, { namespace });
    const events = await writeLog(store);
    await waitForLiveProjection(db, events);
    await services.stop();

    const started = performance.now();
    await runReplay(env);
    const replaySeconds = (performance.now() - started) / 1000;

    const { rows, seconds: insertSeconds } = await insertSameRows(db);
    const replayPerSecond = Math.round(events / replaySeconds);
    const insertRowsPerSecond = Math.round(rows / insertSeconds);
    const ratio = round(replaySeconds / insertSeconds);
    return {
      title: `replay read-notebooks: ${events} events (${NOTEBOOKS} notebooks) vs a raw batched insert of the ${rows} rows it wrote`,
      rows: [
        {
          'replay s': round(replaySeconds),
          'replay events/s': replayPerSecond,
          'raw insert s': round(insertSeconds),
          'raw insert rows/s': insertRowsPerSecond,
          'time replay/raw': ratio,
        },
      ],
      figures: { events, rows, replaySeconds: round(replaySeconds), replayPerSecond, insertSeconds: round(insertSeconds), insertRowsPerSecond, ratio },
    };
  } finally {
    await connection.close();
    await services.stop();
    await db.destroy();
  }
}

/** NOTEBOOKS notebooks, each created and then given cells and edits, one commit per event. */
async function writeLog(store: JetStreamEventStore): Promise<number> {
  const schemaVersions = defaultEventRegistry().writeVersions();
  await Promise.all(
    Array.from({ length: 8 }, async (_, worker) => {
      for (let n = worker; n < NOTEBOOKS; n += 8) {
        const ref = { category: 'notebooks' as const, id: randomUUID() };
        const owner = randomUUID();
        const cells: string[] = [];
        let position: StreamPosition = NO_STREAM;
        for (let version = 1; version <= EVENTS_PER_NOTEBOOK; version++) {
          const cellId = randomUUID();
          const event: DomainEvent =
            version === 1
              ? { type: 'notebook.created', data: { ownerId: owner, title: `Notebook ${n}`, description: null, visibility: 'PRIVATE', forkedFrom: null } }
              : version % 3 === 2 || cells.length === 0
                ? { type: 'cell.created', data: { cellId, kind: 'JS', value: `x${version} = ${version}`, position: 0, isClosed: false } }
                : { type: 'cell.updated', data: { cellId: cells[version % cells.length], changes: { value: `y${version} = x + ${version}` } } };
          if (event.type === 'cell.created') cells.push(cellId);
          const result = await store.append(ref, { events: [event], schemaVersions, actorId: owner }, position);
          position = { sequence: result.sequence, version: result.version };
        }
      }
    }),
  );
  return NOTEBOOKS * EVENTS_PER_NOTEBOOK;
}

async function waitForLiveProjection(db: Kysely<Record<string, Record<string, unknown>>>, events: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    const { rows } = await sql<{ count: string }>`select count(*) as count from read.notebook_events`.execute(db);
    if (Number(rows[0]?.count) >= events) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the live projection did not catch up');
}

function runReplay(env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/projection-service/src/replay.ts', 'read-notebooks', '--fresh'], {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`replay exited ${code}: ${stderr}`))));
  });
}

/** Copies of the projection's tables (columns, constraints, indexes), filled with the replay's rows in batches. */
async function insertSameRows(db: Kysely<Record<string, Record<string, unknown>>>): Promise<{ rows: number; seconds: number }> {
  await sql`drop schema if exists bench_raw cascade`.execute(db);
  await sql`create schema bench_raw`.execute(db);
  const data: [string, Record<string, unknown>[]][] = [];
  for (const table of TABLES) {
    await sql`create table ${sql.table(`bench_raw.${table}`)} (like ${sql.table(`read.${table}`)} including all)`.execute(db);
    data.push([table, await db.selectFrom(`read.${table}`).selectAll().execute()]);
  }
  let rows = 0;
  const started = performance.now();
  for (const [table, tableRows] of data) {
    for (let i = 0; i < tableRows.length; i += INSERT_BATCH) {
      const batch = tableRows.slice(i, i + INSERT_BATCH).map(jsonColumnsAsText);
      await db.transaction().execute((trx) => trx.insertInto(`bench_raw.${table}`).values(batch).execute());
      rows += batch.length;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  await sql`drop schema bench_raw cascade`.execute(db);
  return { rows, seconds };
}

/** pg sends objects as JSON but arrays as Postgres arrays; jsonb columns hold objects here, text[] ones arrays. */
function jsonColumnsAsText(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) ? JSON.stringify(value) : value]));
}
