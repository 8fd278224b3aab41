import { jetstream } from '@nats-io/jetstream';
import {
  aggregateSubject,
  eventDecoder,
  NOTEBOOK_VERSION_CHANNEL,
  NotebookSubjects,
  type CellKind,
  type NotebookCommandInput,
  type NotebookCommandReply,
  type ReadModelTables,
} from '@notebooks/contracts';
import { JetStreamEventStore, loadAggregate } from '@notebooks/event-store';
import { analyzeCell, notebookDecider } from '@notebooks/notebook-domain';
import { Metrics, NatsRpc } from '@notebooks/platform';
import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import type { Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';

describe('the read model', () => {
  let infra: TestInfra;
  let store: JetStreamEventStore;
  let rpc: NatsRpc;
  let db: Kysely<ReadModelTables>;
  const groups: RunningServices[] = [];
  const users = [randomUUID(), randomUUID(), randomUUID()];
  const decode = eventDecoder('notebooks');

  const send = (actorId: string, command: NotebookCommandInput) =>
    rpc.request<NotebookCommandReply>(NotebookSubjects.command, { command, actorId }, { timeoutMs: 10_000 });
  /** Projection replicas started so far (they share one durable consumer). */
  const projectors: RunningServices[] = [];
  const start = async (names: Parameters<typeof startServices>[0]) => {
    const group = await startServices(names, infra.serviceEnv());
    groups.push(group);
    if (names.includes('projection-service')) projectors.push(group);
    return group;
  };
  /** A crash: the replica gets no chance to finish its batch or drain its consumer. */
  const crash = async (group: RunningServices) => {
    await group.kill('projection-service');
    projectors.splice(projectors.indexOf(group), 1);
  };
  /** Which commit reaches which replica first is not ordered across replicas; some tests need one. */
  const onlyOneProjector = async () => {
    await Promise.all(projectors.splice(0).map((group) => group.stop()));
    return start(['projection-service']);
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** The read model of a notebook, in the shape of the decider's state. */
  const readBack = async (id: string) => {
    const row = await db.selectFrom('read.notebooks').selectAll().where('id', '=', id).executeTakeFirst();
    const cells = await db.selectFrom('read.cells').selectAll().where('notebook_id', '=', id).orderBy('position').execute();
    const collaborators = await db.selectFrom('read.collaborators').selectAll().where('notebook_id', '=', id).orderBy('user_id').execute();
    return {
      version: row?.version,
      status: row?.deleted ? 'deleted' : 'active',
      title: row?.title,
      description: row?.description,
      visibility: row?.visibility,
      cells: cells.map((c, i) => ({
        cellId: c.id,
        kind: c.kind,
        value: c.value,
        isClosed: c.is_closed,
        position: c.position === i,
        name: c.name,
        references: c.references,
      })),
      collaborators: collaborators.map((c) => ({ userId: c.user_id, role: c.role })),
    };
  };
  const folded = async (id: string) => {
    const { state } = await loadAggregate(store, notebookDecider, { category: 'notebooks', id }, { decode });
    return {
      version: state.version,
      status: state.status,
      title: state.title,
      description: state.description,
      visibility: state.visibility,
      cells: state.cells.map((c) => ({ ...c, position: true, ...analyzeCell(c.kind, c.value) })),
      collaborators: [...state.collaborators].sort((a, b) => a.userId.localeCompare(b.userId)),
    };
  };
  const caughtUp = async (ids: string[], timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    for (const id of ids) {
      const { state } = await loadAggregate(store, notebookDecider, { category: 'notebooks', id }, { decode });
      while ((await db.selectFrom('read.notebooks').select('version').where('id', '=', id).executeTakeFirst())?.version !== state.version) {
        if (Date.now() > deadline) throw new Error(`read model of ${id} did not reach version ${state.version}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };

  /** Resolves once the read model of `ids` holds at least `total` versions between them. */
  const projectedVersionsReach = async (ids: string[], total: number, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await db.selectFrom('read.notebooks').select('version').where('id', 'in', ids).execute();
      if (rows.reduce((sum, row) => sum + row.version, 0) >= total) return;
      if (Date.now() > deadline) throw new Error(`the read model did not reach ${total} versions`);
      await sleep(20);
    }
  };
  /** Sources whose names and references depend on the cell's kind, half-typed code included. */
  const sourceFor = (step: number) =>
    [`c${step} = c${step - 1} + x`, `Hello \${c${step - 1}} and \${x}`, `viewof v${step} = slider(c${step - 1})`, `c${step} = `][step % 4] ?? '';
  const kinds: CellKind[] = ['JS', 'MARKDOWN', 'HTML'];

  /** A random but valid edit of a notebook, from its owner. */
  const randomEdit = async (owner: string, notebookId: string, cells: string[], step: number) => {
    const pick = () => cells[Math.floor(Math.random() * cells.length)] ?? '';
    const choice = cells.length === 0 ? 0 : step % 7;
    if (choice === 0 || choice === 5) {
      const kind = kinds[step % kinds.length] ?? 'JS';
      const reply = await send(owner, { type: 'AddCell', notebookId, kind, value: sourceFor(step), position: Math.floor(Math.random() * (cells.length + 1)) });
      cells.push(reply.cellId ?? '');
    } else if (choice === 1 && step % 2 === 0) await send(owner, { type: 'UpdateCell', notebookId, cellId: pick(), value: sourceFor(step), isClosed: step % 4 === 0 });
    // Only the kind: the read model must re-analyze the value it already holds.
    else if (choice === 1) await send(owner, { type: 'UpdateCell', notebookId, cellId: pick(), kind: kinds[step % kinds.length] ?? 'JS' });
    else if (choice === 2) await send(owner, { type: 'MoveCell', notebookId, cellId: pick(), position: Math.floor(Math.random() * cells.length) });
    else if (choice === 3) {
      const cellId = pick();
      await send(owner, { type: 'DeleteCell', notebookId, cellId });
      cells.splice(cells.indexOf(cellId), 1);
    } else if (choice === 4) await send(owner, { type: 'UpdateNotebook', notebookId, title: `Title ${step}`, description: step % 3 ? null : `d${step}` });
    else await send(owner, { type: 'ShareNotebook', notebookId, userId: users[step % users.length] ?? '', role: step % 2 ? 'EDITOR' : 'VIEWER' });
  };

  beforeAll(async () => {
    infra = await createTestInfra();
    await start(['notebook-service']);
    const nc = await infra.connectNats();
    store = await JetStreamEventStore.create(nc, { namespace: infra.namespace });
    rpc = new NatsRpc(nc, { servers: infra.natsUrl, name: 'test-client', namespace: infra.namespace }, new Metrics());
    db = infra.database<ReadModelTables>();
  });

  afterAll(async () => {
    await Promise.all(groups.map((g) => g.stop()));
    await infra.dispose();
  });

  it('equals a fold of the stream, with two replicas sharing the consumer and one killed mid-stream', async () => {
    const [first, second] = [await start(['projection-service']), await start(['projection-service'])];
    const owner = randomUUID();
    const notebooks = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => (await send(owner, { type: 'CreateNotebook', title: `N${i}`, description: null, visibility: 'PRIVATE' })).notebookId),
    );
    const work = notebooks.map(async (notebookId) => {
      const cells: string[] = [];
      for (let step = 0; step < 25; step++) await randomEdit(owner, notebookId, cells, step);
    });
    await sleep(300);
    await crash(first);
    const third = await start(['projection-service']);
    await Promise.all(work);
    await send(owner, { type: 'RestoreNotebook', notebookId: notebooks[0] ?? '', version: 5 });
    await send(owner, { type: 'DeleteNotebook', notebookId: notebooks[1] ?? '' });

    await caughtUp(notebooks);
    for (const id of notebooks) expect(await readBack(id)).toEqual(await folded(id));
    expect([second, third]).toHaveLength(2);
  }, 150_000);

  it('projects the user directory from USERS', async () => {
    await start(['projection-service']);
    const id = randomUUID();
    await store.append({ category: 'users', id }, { events: [{ type: 'user.registered', data: { email: 'grace@example.com', displayName: 'Grace' } }], actorId: id }, 'any');
    await store.append({ category: 'users', id }, { events: [{ type: 'user.updated', data: { displayName: 'Grace H.' } }], actorId: id }, 'any');

    const deadline = Date.now() + 10_000;
    let user;
    while (Date.now() < deadline && (user = await db.selectFrom('read.users').selectAll().where('id', '=', id).executeTakeFirst())?.version !== 2) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(user).toMatchObject({ email: 'grace@example.com', display_name: 'Grace H.', version: 2 });
  });

  it('parks an undecodable commit and the rest of its aggregate, keeps projecting others, and says so in health', async () => {
    const group = await onlyOneProjector();
    const owner = randomUUID();
    const poisoned = (await send(owner, { type: 'CreateNotebook', title: 'Poisoned', description: null, visibility: 'PRIVATE' })).notebookId;
    await caughtUp([poisoned]);
    // Garbage on the notebook's subject, then a valid commit after it (published by hand: the
    // notebook-service rightly refuses to fold a notebook whose log it cannot read).
    const js = jetstream(await infra.connectNats());
    const subject = aggregateSubject(infra.namespace, { category: 'notebooks', id: poisoned });
    await js.publish(subject, 'garbage');
    const later = { id: randomUUID(), streamId: poisoned, version: 2, type: 'notebook.updated', schemaVersion: 1, occurredAt: new Date().toISOString(), actorId: owner, correlationId: null, causationId: null, data: { title: 'After the garbage' } };
    await js.publish(subject, JSON.stringify({ commitId: randomUUID(), streamId: poisoned, events: [later] }));
    const healthy = (await send(owner, { type: 'CreateNotebook', title: 'Healthy', description: null, visibility: 'PRIVATE' })).notebookId;
    await caughtUp([healthy]);

    const deadline = Date.now() + 10_000;
    const letters = infra.database<{ 'read.dead_letters': { aggregate_id: string; sequence: string; error: string } }>();
    let parked: { error: string }[] = [];
    while (parked.length < 2 && Date.now() < deadline) {
      parked = await letters.selectFrom('read.dead_letters').select('error').where('aggregate_id', '=', poisoned).orderBy('sequence').execute();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(parked.map((p) => p.error)).toEqual([expect.stringMatching(/^undecodable commit/), expect.stringMatching(/^waiting behind parked sequence/)]);
    expect((await readBack(poisoned)).title).toBe('Poisoned');
    const health = (await (await fetch(`${group.url('projection-service')}/health/ready`)).json()) as { info: Record<string, { deadLetters?: number }> };
    expect(health.info['read-notebooks']?.deadLetters).toBeGreaterThanOrEqual(2);
  });

  it('equals a fold of the stream after its only replica is SIGKILLed while commands are written and started again', async () => {
    const only = await onlyOneProjector();
    const owner = randomUUID();
    const notebooks = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => (await send(owner, { type: 'CreateNotebook', title: `K${i}`, description: null, visibility: 'PUBLIC' })).notebookId),
    );
    // Commands keep being written until the restarted replica has been at work for a while.
    let writing = true;
    const work = notebooks.map(async (notebookId) => {
      const cells: string[] = [];
      for (let step = 0; (writing || step < 20) && step < 2_000; step++) {
        await randomEdit(owner, notebookId, cells, step);
        await sleep(10); // paced, so the stream spans the crash and the restart without growing huge
      }
    });
    await projectedVersionsReach(notebooks, 3 * notebooks.length);
    await crash(only);
    await sleep(500);
    await start(['projection-service']);
    await sleep(500);
    writing = false;
    await Promise.all(work);
    const fork = (await send(owner, { type: 'ForkNotebook', notebookId: notebooks[0] ?? '' })).notebookId;

    await caughtUp([...notebooks, fork]);
    for (const id of [...notebooks, fork]) expect(await readBack(id)).toEqual(await folded(id));
    expect((await readBack(fork)).cells.map((c) => c.value)).toEqual((await readBack(notebooks[0] ?? '')).cells.map((c) => c.value));
  }, 150_000);

  it('announces each applied version on NOTEBOOK_VERSION_CHANNEL once the read model shows it', async () => {
    if (projectors.length === 0) await start(['projection-service']);
    const listener = new Client({ connectionString: infra.databaseUrl });
    await listener.connect();
    try {
      const received: string[] = [];
      listener.on('notification', ({ payload }) => {
        if (payload) received.push(payload);
      });
      await listener.query(`listen ${listener.escapeIdentifier(NOTEBOOK_VERSION_CHANNEL)}`);

      const owner = randomUUID();
      const { notebookId } = await send(owner, { type: 'CreateNotebook', title: 'Announced', description: null, visibility: 'PRIVATE' });
      const { version } = await send(owner, { type: 'AddCell', notebookId, kind: 'MARKDOWN', value: 'Hello ${name}' });
      const deadline = Date.now() + 10_000;
      while (!received.includes(`${notebookId}:${version}`) && Date.now() < deadline) await sleep(20);
      // Read-your-writes: the notification is delivered only after the transaction that wrote the version commits.
      const row = await db.selectFrom('read.notebooks').select('version').where('id', '=', notebookId).executeTakeFirst();

      expect(received.filter((payload) => payload.startsWith(notebookId))).toEqual([`${notebookId}:1`, `${notebookId}:${version}`]);
      expect(row?.version).toBe(version);
      expect(await db.selectFrom('read.cells').select(['name', 'references']).where('notebook_id', '=', notebookId).execute()).toEqual([
        { name: null, references: ['name'] },
      ]);
    } finally {
      await listener.end();
    }
  });
});
