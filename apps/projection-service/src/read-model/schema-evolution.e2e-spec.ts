import { eventDecoder, NotebookSubjects, type NotebookCommandInput, type NotebookCommandReply, type ReadModelTables } from '@notebooks/contracts';
import { JetStreamEventStore, loadAggregate } from '@notebooks/event-store';
import { notebookDecider } from '@notebooks/notebook-domain';
import { Metrics, NatsRpc } from '@notebooks/platform';
import { createTestInfra, startServices, WORKSPACE_ROOT, type RunningServices, type TestInfra } from '@notebooks/testing';
import { spawn } from 'node:child_process';
import type { Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';

describe('a notebook stream holding cell.updated v1 and v2', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let store: JetStreamEventStore;
  let rpc: NatsRpc;
  let db: Kysely<ReadModelTables>;
  const decode = eventDecoder('notebooks');

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['notebook-service', 'projection-service'], infra.serviceEnv());
    const nc = await infra.connectNats();
    store = await JetStreamEventStore.create(nc, { namespace: infra.namespace });
    rpc = new NatsRpc(nc, { servers: infra.natsUrl, name: 'test-client', namespace: infra.namespace }, new Metrics());
    db = infra.database<ReadModelTables>();
  });

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  const send = (actorId: string, command: NotebookCommandInput) => rpc.request<NotebookCommandReply>(NotebookSubjects.command, { command, actorId }, { timeoutMs: 10_000 });

  it('is folded, projected and shown in history the same whichever version each event was written with', async () => {
    const owner = randomUUID();
    const { notebookId } = await send(owner, { type: 'CreateNotebook', title: 'Evolving', description: null, visibility: 'PRIVATE' });
    const { cellId } = await send(owner, { type: 'AddCell', notebookId, kind: 'JS', value: 'a = 1' });
    // Written as an older release of notebook-service did: v1 data, labelled v1.
    const ref = { category: 'notebooks' as const, id: notebookId };
    const position = await store.position(ref);
    await store.append(ref, { events: [{ type: 'cell.updated', data: { cellId, value: 'a = 2', kind: 'MARKDOWN' } }], schemaVersions: { 'cell.updated': 1 }, actorId: owner }, position);
    // And on top, a current one (v2) through the service, which must read the v1 event to decide.
    const latest = await send(owner, { type: 'UpdateCell', notebookId, cellId: cellId ?? '', kind: 'JS', isClosed: true });
    expect(latest.version).toBe(4);

    const stored = [];
    for await (const commit of store.read(ref)) stored.push(...commit.commit.events.map((e) => [e.type, e.schemaVersion]));
    expect(stored.slice(2)).toEqual([['cell.updated', 1], ['cell.updated', 2]]);

    const deadline = Date.now() + 10_000;
    while ((await db.selectFrom('read.notebooks').select('version').where('id', '=', notebookId).executeTakeFirst())?.version !== 4) {
      if (Date.now() > deadline) throw new Error('the read model did not reach version 4');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { state } = await loadAggregate(store, notebookDecider, ref, { decode });
    expect(state.cells).toEqual([{ cellId, kind: 'JS', value: 'a = 2', isClosed: true }]);
    const cells = await db.selectFrom('read.cells').select(['id', 'kind', 'value', 'is_closed', 'name', 'references']).where('notebook_id', '=', notebookId).execute();
    expect(cells).toEqual([{ id: cellId, kind: 'JS', value: 'a = 2', is_closed: true, name: 'a', references: [] }]);
    const history = await db.selectFrom('read.notebook_events').select(['version', 'data']).where('notebook_id', '=', notebookId).where('version', '>', 2).orderBy('version').execute();
    expect(history).toEqual([
      { version: 3, data: { cellId, changes: { value: 'a = 2', kind: 'MARKDOWN' } } },
      { version: 4, data: { cellId, changes: { kind: 'JS', isClosed: true } } },
    ]);

    // Rebuilt from the log (v1 and v2 side by side), the read model comes out the same — even the
    // row spoiled here on purpose, which only a rebuild puts right.
    const before = await readModelOf(notebookId);
    await db.updateTable('read.cells').set({ value: 'spoiled', name: null }).where('notebook_id', '=', notebookId).execute();
    const replay = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/projection-service/src/replay.ts', 'read-notebooks'], {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...infra.serviceEnv() },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    replay.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => replay.once('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(await readModelOf(notebookId)).toEqual(before);
  }, 60_000);

  /** Every row the read-notebooks projection keeps about one notebook. */
  const readModelOf = async (notebookId: string) => ({
    notebook: await db.selectFrom('read.notebooks').selectAll().where('id', '=', notebookId).execute(),
    cells: await db.selectFrom('read.cells').selectAll().where('notebook_id', '=', notebookId).orderBy('id').execute(),
    history: await db.selectFrom('read.notebook_events').selectAll().where('notebook_id', '=', notebookId).orderBy('version').execute(),
    activity: await db.selectFrom('read.notebook_activity').selectAll().where('notebook_id', '=', notebookId).execute(),
  });
});
