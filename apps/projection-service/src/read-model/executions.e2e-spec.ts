import { eventDecoder, type CellExecuted, type CellFailed, type ExecutionEvent, type ReadModelTables, type StreamRef } from '@notebooks/contracts';
import { JetStreamEventStore } from '@notebooks/event-store';
import { replayProjection } from '@notebooks/projector';
import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { sql, type Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import { projectExecutionCommit } from './executions.projection';
import { READ_MODEL_PROJECTIONS } from './projections';

type CellRun = CellExecuted | CellFailed;

const decode = eventDecoder('executions');

const executionsProjection = READ_MODEL_PROJECTIONS.find((projection) => projection.name === 'read-executions');

/** A successful run of `cellId` computed from `notebookVersion`. */
function executed(cellId: string, notebookVersion: number, value: CellExecuted['value']): ExecutionEvent {
  return {
    type: 'cell.executed',
    data: {
      cellId,
      notebookVersion,
      status: 'OK',
      display: JSON.stringify(value),
      value,
      html: null,
      error: null,
      durationMs: 1.25,
      executedAt: new Date(Date.UTC(2026, 10, 23, 12, 0, notebookVersion)).toISOString(),
    },
  };
}

function failed(cellId: string, notebookVersion: number, error: string, status: CellFailed['status'] = 'ERROR'): ExecutionEvent {
  return {
    type: 'cell.failed',
    data: { cellId, notebookVersion, status, display: null, value: null, html: null, error, durationMs: 30, executedAt: new Date(Date.UTC(2026, 10, 23, 13)).toISOString() },
  };
}

/** The row read.cell_outputs should hold for a result that is `eventVersion` on its notebook's executions stream. */
function rowOf(notebookId: string, run: CellRun, eventVersion: number) {
  return {
    notebook_id: notebookId,
    cell_id: run.cellId,
    status: run.status,
    display: run.display,
    value: run.value,
    html: run.html,
    error: run.error,
    duration_ms: run.durationMs,
    notebook_version: run.notebookVersion,
    executed_at: new Date(run.executedAt),
    event_version: eventVersion,
  };
}

describe('the read model of execution results', () => {
  let infra: TestInfra;
  let store: JetStreamEventStore;
  let db: Kysely<ReadModelTables>;
  const groups: RunningServices[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const ref = (id: string): StreamRef => ({ category: 'executions', id });

  const start = async () => {
    const group = await startServices(['projection-service'], infra.serviceEnv());
    groups.push(group);
    return group;
  };
  const append = (notebookId: string, ...events: ExecutionEvent[]) => store.append(ref(notebookId), { events, actorId: null }, 'any');

  /** Resolves once the read model has applied everything on the notebooks' executions streams. */
  const caughtUp = async (ids: string[], timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (const id of ids) {
      const { version } = await store.position(ref(id));
      while ((await db.selectFrom('read.notebook_executions').select('version').where('notebook_id', '=', id).executeTakeFirst())?.version !== version) {
        if (Date.now() > deadline) throw new Error(`the results of ${id} did not reach version ${version}`);
        await sleep(50);
      }
    }
  };
  const outputsOf = (id: string) => db.selectFrom('read.cell_outputs').selectAll().where('notebook_id', '=', id).orderBy('cell_id').execute();
  const executionsOf = async (id: string) => (await db.selectFrom('read.notebook_executions').select('executions').where('notebook_id', '=', id).executeTakeFirst())?.executions;

  /**
   * The rule, read straight off the log: each cell shows the result with the highest notebook
   * version, and among those the last one in the log; every result counts as one execution.
   */
  const expectedFromLog = async (id: string) => {
    const results: { run: CellRun; eventVersion: number }[] = [];
    for await (const { commit } of store.read(ref(id))) {
      for (const envelope of commit.events) results.push({ run: decode(envelope).data, eventVersion: envelope.version });
    }
    const newest = new Map<string, { run: CellRun; eventVersion: number }>();
    for (const result of results) {
      const kept = newest.get(result.run.cellId);
      const newer =
        !kept ||
        result.run.notebookVersion > kept.run.notebookVersion ||
        (result.run.notebookVersion === kept.run.notebookVersion && result.eventVersion > kept.eventVersion);
      if (newer) newest.set(result.run.cellId, result);
    }
    const outputs = [...newest.values()].map(({ run, eventVersion }) => rowOf(id, run, eventVersion)).sort((a, b) => a.cell_id.localeCompare(b.cell_id));
    return { outputs, executions: results.length };
  };

  /** Both tables of the projection, every row, in key order. */
  const tables = async () => ({
    outputs: await db.selectFrom('read.cell_outputs').selectAll().orderBy('notebook_id').orderBy('cell_id').execute(),
    executions: await db.selectFrom('read.notebook_executions').selectAll().orderBy('notebook_id').execute(),
  });

  beforeAll(async () => {
    infra = await createTestInfra();
    store = await JetStreamEventStore.create(await infra.connectNats(), { namespace: infra.namespace });
    db = infra.database<ReadModelTables>();
    await start();
  });

  afterAll(async () => {
    await Promise.all(groups.map((group) => group.stop()));
    await infra.dispose();
  });

  it("keeps each cell's newest result: a newer notebook version wins, a stale one arriving later is ignored, the later of one version wins", async () => {
    const notebookId = randomUUID();
    const [a, b, c, d] = ['cell-a', 'cell-b', 'cell-c', 'cell-d'];
    await append(notebookId, executed(a, 3, 1), executed(b, 2, 'first'));
    await append(notebookId, executed(a, 5, { x: [1, 2] }));
    await append(notebookId, failed(a, 4, 'stale: computed from version 4')); // arrives after version 5's
    await append(notebookId, executed(b, 2, 'second')); // same version, later in the log
    // Within one commit too: the stale result after the newer one loses, the later of one version wins.
    await append(notebookId, executed(c, 7, true), executed(c, 6, false), failed(d, 7, 'first', 'TIMEOUT'), executed(d, 7, null));

    await caughtUp([notebookId]);

    const expected = [
      rowOf(notebookId, executed(a, 5, { x: [1, 2] }).data, 3),
      rowOf(notebookId, executed(b, 2, 'second').data, 5),
      rowOf(notebookId, executed(c, 7, true).data, 6),
      rowOf(notebookId, executed(d, 7, null).data, 9),
    ];
    expect(await outputsOf(notebookId)).toEqual(expected);
    expect(await outputsOf(notebookId)).toEqual((await expectedFromLog(notebookId)).outputs);
    expect(await executionsOf(notebookId)).toBe(9);
  });

  it('counts each result once: a commit applied again, as on redelivery, changes nothing', async () => {
    const notebookId = randomUUID();
    await append(notebookId, executed('x', 1, 1), executed('y', 1, 2));
    await append(notebookId, failed('x', 2, 'boom'));
    await caughtUp([notebookId]);
    const before = { outputs: await outputsOf(notebookId), executions: await executionsOf(notebookId) };

    for await (const { commit } of store.read(ref(notebookId))) await db.transaction().execute((trx) => projectExecutionCommit(trx, commit));

    expect({ outputs: await outputsOf(notebookId), executions: await executionsOf(notebookId) }).toEqual(before);
    expect(before.executions).toBe(3);
    expect(before.outputs.map((row) => [row.cell_id, row.status, row.error])).toEqual([
      ['x', 'ERROR', 'boom'],
      ['y', 'OK', null],
    ]);
  });

  it('equals the rule applied to the log, counting each result once, with its replica killed mid-stream and another taking over', async () => {
    const notebooks = Array.from({ length: 6 }, () => randomUUID());
    const cells = ['p', 'q', 'r', 's'];
    const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)] as T;
    // Results out of notebook-version order, as runs of several versions finishing in any order.
    const randomResult = (step: number) =>
      step % 5 === 4 ? failed(pick(cells), 1 + Math.floor(Math.random() * 8), `error ${step}`) : executed(pick(cells), 1 + Math.floor(Math.random() * 8), { step });
    let writing = true;
    const work = notebooks.map(async (notebookId) => {
      for (let step = 0; (writing || step < 20) && step < 1_000; step++) {
        await append(notebookId, ...Array.from({ length: 1 + (step % 3) }, (_, i) => randomResult(step + i)));
        await sleep(5);
      }
    });
    const deadline = Date.now() + 20_000;
    while (Number((await db.selectFrom('read.notebook_executions').select((eb) => eb.fn.sum<string>('version').as('total')).where('notebook_id', 'in', notebooks).executeTakeFirst())?.total ?? 0) < 30) {
      if (Date.now() > deadline) throw new Error('nothing was projected');
      await sleep(20);
    }
    const [first] = groups.splice(0, 1);
    await first?.kill('projection-service');
    await start();
    await sleep(500);
    writing = false;
    await Promise.all(work);

    await caughtUp(notebooks);

    for (const id of notebooks) {
      const expected = await expectedFromLog(id);
      expect({ outputs: await outputsOf(id), executions: await executionsOf(id) }).toEqual(expected);
    }
  }, 120_000);

  it('is rebuilt identical, row for row, by a replay from the log', async () => {
    if (!executionsProjection) throw new Error('read-executions is not among the projections');
    const notebookId = randomUUID();
    await append(notebookId, executed('m', 2, 'new'), failed('n', 1, 'broken'));
    await append(notebookId, executed('m', 1, 'stale'));
    await caughtUp([notebookId]);
    const live = await tables();
    // Something a replay must not keep: the rebuilt tables come from the log alone.
    await sql`update read.cell_outputs set display = 'tampered' where notebook_id = ${notebookId}`.execute(db);

    const result = await replayProjection({ projection: executionsProjection, store, db });

    expect(result.parked).toBe(0);
    expect(await tables()).toEqual(live);
    expect(live.outputs.filter((row) => row.notebook_id === notebookId).map((row) => [row.cell_id, row.value])).toEqual([
      ['m', 'new'],
      ['n', null],
    ]);
  }, 60_000);
});
