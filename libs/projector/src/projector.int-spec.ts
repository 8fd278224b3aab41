import type { CommitMessage } from '@notebooks/contracts';
import { InMemoryEventStore, NO_STREAM } from '@notebooks/event-store';
import { createTestInfra, type TestInfra } from '@notebooks/testing';
import { sql, type Kysely, type Transaction } from 'kysely';
import { randomUUID } from 'node:crypto';
import { createProjectorTablesV1 } from './projector-tables.migration';
import { runProjection, shouldApply, type RunningProjection } from './projector';

interface Counts {
  'demo.counts': { id: string; version: number };
  'demo.dead_letters': { aggregate_id: string };
}

describe('runProjection', () => {
  let infra: TestInfra;
  let db: Kysely<Counts>;
  let projection: RunningProjection | undefined;

  beforeAll(async () => {
    infra = await createTestInfra();
    db = infra.database<Counts>();
    await createProjectorTablesV1(db, 'demo');
    await sql`create table demo.counts (id text primary key, version integer not null)`.execute(db);
  });

  afterAll(async () => {
    await projection?.stop();
    await infra.dispose();
  });

  it('retries a batch that lost a deadlock to another replica, however often, and never parks it', async () => {
    const store = new InMemoryEventStore();
    const [id, healthy] = [randomUUID(), randomUUID()];
    // Others apply meanwhile, so the failures are not mistaken for an outage (which never parks).
    for (const aggregate of [id, healthy]) await store.append({ category: 'notebooks', id: aggregate }, { events: [{ type: 'notebook.deleted', data: {} }], actorId: null }, NO_STREAM);
    let collisions = 0;
    const apply = async (trx: Transaction<Counts>, commit: CommitMessage) => {
      // As Postgres reports a transaction it aborted to break a deadlock: more times than maxDeliver.
      if (commit.streamId === id && collisions++ < 4) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      const current = await trx.selectFrom('demo.counts').select('version').where('id', '=', commit.streamId).executeTakeFirst();
      if (shouldApply(commit, current?.version ?? 0)) await trx.insertInto('demo.counts').values({ id: commit.streamId, version: 1 }).execute();
    };
    projection = await runProjection({ name: 'demo', category: 'notebooks', schema: 'demo', store, db, apply, batchSize: 1, maxDeliver: 2, retryDelaysMs: [10] });

    const deadline = Date.now() + 10_000;
    while (!(await db.selectFrom('demo.counts').select('id').where('id', '=', id).executeTakeFirst())) {
      if (Date.now() > deadline) throw new Error('the commit was never applied');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(collisions).toBe(5);
    expect(await db.selectFrom('demo.dead_letters').select('aggregate_id').execute()).toEqual([]);
  });
});
