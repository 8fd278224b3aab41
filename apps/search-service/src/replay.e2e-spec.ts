import { NO_STREAM, JetStreamEventStore, type StreamPosition } from '@notebooks/event-store';
import { defaultEventRegistry, SearchReply, SearchSubjects, type DomainEvent, type NotebookEvent, type StreamRef } from '@notebooks/contracts';
import { Metrics, NatsRpc } from '@notebooks/platform';
import { createTestInfra, startServices, WORKSPACE_ROOT, type RunningServices, type TestInfra } from '@notebooks/testing';
import { sql, type Kysely } from 'kysely';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { SearchTables } from './search/postgres-search-index';

/** `npm run ops -- replay search-documents`, on this file's servers. */
function ops(infra: TestInfra, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', 'tools/ops/main.ts', '--nats', infra.natsUrl, '--database', infra.databaseUrl, '--namespace', infra.namespace, ...args],
    { cwd: WORKSPACE_ROOT, env: { ...process.env, LOG_LEVEL: 'info', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('replay search-documents', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let store: JetStreamEventStore;
  let rpc: NatsRpc;
  let db: Kysely<SearchTables>;
  const owner = randomUUID();
  const schemaVersions = defaultEventRegistry().writeVersions();

  const write = async (ref: StreamRef, position: StreamPosition, ...events: NotebookEvent[]): Promise<StreamPosition> => {
    const result = await store.append(ref, { events: events as DomainEvent[], schemaVersions, actorId: owner }, position);
    return { sequence: result.sequence, version: result.version };
  };
  const search = async (query: string) => SearchReply.parse(await rpc.request(SearchSubjects.search, { query, first: 100, viewerId: owner }));
  const rows = async () => ({
    notebooks: await db.selectFrom('search.notebooks').selectAll().orderBy('id').execute(),
    collaborators: await db.selectFrom('search.collaborators').selectAll().orderBy('notebook_id').orderBy('user_id').execute(),
    documents: (await sql`select *, document::text as document from search.documents order by notebook_id, cell_id nulls first`.execute(db)).rows,
    terms: await db.selectFrom('search.terms').selectAll().orderBy('term').execute(),
  });

  beforeAll(async () => {
    infra = await createTestInfra();
    const nc = await infra.connectNats();
    store = await JetStreamEventStore.create(nc, { namespace: infra.namespace });
    rpc = new NatsRpc(nc, { servers: infra.natsUrl, name: 'replay-test', namespace: infra.namespace }, new Metrics());
    db = infra.database<SearchTables>();
    for (let i = 0; i < 20; i++) {
      const ref: StreamRef = { category: 'notebooks', id: randomUUID() };
      const cells = [randomUUID(), randomUUID()];
      let at = await write(ref, NO_STREAM, {
        type: 'notebook.created',
        data: { ownerId: owner, title: `Survey ${i} of craters`, description: i % 2 ? 'with rovers' : null, visibility: i % 3 ? 'PRIVATE' : 'PUBLIC', forkedFrom: null },
      });
      at = await write(ref, at, ...cells.map((cellId, position): NotebookEvent => ({ type: 'cell.created', data: { cellId, kind: 'JS', value: `crater${i} = ${position}`, position, isClosed: false } })));
      if (i % 4 === 0) at = await write(ref, at, { type: 'notebook.shared', data: { userId: randomUUID(), role: 'VIEWER' } });
      if (i % 5 === 0) at = await write(ref, at, { type: 'cell.deleted', data: { cellId: cells[0] ?? '' } });
      if (i === 7) await write(ref, at, { type: 'notebook.deleted', data: {} });
    }
    services = await startServices(['search-service'], infra.serviceEnv());
  }, 60_000);

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  it('rebuilds the index identical, row for row, to the live one, which keeps answering', async () => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const health = (await (await fetch(`${services.url('search-service')}/health/ready`)).json()) as { info?: Record<string, { pending?: number; ackPending?: number }> };
      const lag = health.info?.['search-documents'];
      if (lag?.pending === 0 && lag.ackPending === 0) break;
      if (Date.now() > deadline) throw new Error(`the live index did not catch up: ${JSON.stringify(health)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await search('survey')).total).toBe(19);
    const live = await rows();
    const answer = await search('crater rovers');

    const { code, stdout, stderr } = await ops(infra, 'replay', 'search-documents');

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/search-documents: swapped the rebuilt tables in at sequence \d+/);
    expect(await rows()).toEqual(live);
    expect(await search('crater rovers')).toEqual(answer);
  });

  it('refuses a projection no service runs', async () => {
    const { code, stderr } = await ops(infra, 'replay', 'documents');
    expect(code).toBe(64);
    expect(stderr).toContain('projection names begin with their schema');
  });
});
