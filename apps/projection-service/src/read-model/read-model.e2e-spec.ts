import { jetstream } from '@nats-io/jetstream';
import { aggregateSubject, eventDecoder, NotebookSubjects, type NotebookCommandInput, type NotebookCommandReply } from '@notebooks/contracts';
import { JetStreamEventStore, loadAggregate } from '@notebooks/event-store';
import { notebookDecider } from '@notebooks/notebook-domain';
import { Metrics, NatsRpc } from '@notebooks/platform';
import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import type { Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import type { ReadDatabase } from './read-database';

describe('the read model', () => {
  let infra: TestInfra;
  let store: JetStreamEventStore;
  let rpc: NatsRpc;
  let db: Kysely<ReadDatabase>;
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
      cells: cells.map((c, i) => ({ cellId: c.id, kind: c.kind, value: c.value, isClosed: c.is_closed, position: c.position === i })),
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
      cells: state.cells.map((c) => ({ ...c, position: true })),
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

  /** A random but valid edit of a notebook, from its owner. */
  const randomEdit = async (owner: string, notebookId: string, cells: string[], step: number) => {
    const pick = () => cells[Math.floor(Math.random() * cells.length)] ?? '';
    const choice = cells.length === 0 ? 0 : step % 7;
    if (choice === 0 || choice === 5) {
      const reply = await send(owner, { type: 'AddCell', notebookId, kind: 'JS', value: `c${step} = ${step}`, position: Math.floor(Math.random() * (cells.length + 1)) });
      cells.push(reply.cellId ?? '');
    } else if (choice === 1) await send(owner, { type: 'UpdateCell', notebookId, cellId: pick(), value: `v${step}`, isClosed: step % 2 === 0 });
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
    db = infra.database<ReadDatabase>();
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
    await new Promise((r) => setTimeout(r, 300));
    await first.kill('projection-service');
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
    // One replica: which commit reaches which replica first is not ordered across replicas.
    await Promise.all(projectors.splice(0).map((group) => group.stop()));
    const group = await start(['projection-service']);
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
});
