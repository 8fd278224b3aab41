import { JetStreamEventStore } from '@notebooks/event-store';
import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { sql, type Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';

describe('projection_checkpoint_gap', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let store: JetStreamEventStore;
  let db: Kysely<unknown>;

  /** The gauge's value per projection, as Prometheus scrapes it. */
  const gaps = async (): Promise<Record<string, number>> => {
    const text = await (await fetch(`${services.url('projection-service')}/metrics`)).text();
    return Object.fromEntries([...text.matchAll(/^projection_checkpoint_gap\{projection="([^"]+)"\} (\d+)$/gm)].map(([, name, value]) => [name, Number(value)]));
  };
  const until = async (expected: Record<string, number>, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: Record<string, number> = {};
    while (Date.now() < deadline) {
      last = await gaps();
      if (JSON.stringify(last) === JSON.stringify(expected)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    return last;
  };

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['projection-service'], infra.serviceEnv());
    store = await JetStreamEventStore.create(await infra.connectNats(), { namespace: infra.namespace });
    db = infra.database();
  });

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  it('is the stream head minus the checkpoint of each projection', async () => {
    const id = randomUUID();
    await store.append({ category: 'users', id }, { events: [{ type: 'user.registered', data: { email: 'gap@example.com', displayName: 'Gap' } }], actorId: id }, 'any');
    await store.append({ category: 'users', id }, { events: [{ type: 'user.updated', data: { displayName: 'Gap 2' } }], actorId: id }, 'any');
    expect(await until({ 'read-notebooks': 0, 'read-users': 0, 'read-executions': 0 })).toEqual({ 'read-notebooks': 0, 'read-users': 0, 'read-executions': 0 });

    // A checkpoint left behind, as while a projector is down: the gap is what it has still to apply.
    await sql`update read.checkpoints set sequence = sequence - 2 where projection = 'read-users'`.execute(db);
    expect(await gaps()).toEqual({ 'read-notebooks': 0, 'read-users': 2, 'read-executions': 0 });
  });
});
