import { Logger } from '@nestjs/common';
import type { CommitMessage, ReadModelTables } from '@notebooks/contracts';
import { RpcException } from '@notebooks/platform';
import { createTestInfra, type TestInfra } from '@notebooks/testing';
import { sql, type Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import { DeadLetterRetry, type RetryableProjection } from './dead-letter-retry';
import { createProjectorTablesV1 } from './projector-tables.migration';

describe(DeadLetterRetry.name, () => {
  let infra: TestInfra;
  let db: Kysely<ReadModelTables>;
  /** Commits whose apply fails, by commit id. */
  const failing = new Set<string>();
  const projection: RetryableProjection<ReadModelTables> = {
    name: 'test-projection',
    category: 'notebooks',
    schema: 'read',
    async apply(trx, commit) {
      await sql`insert into read.applied (aggregate_id, version) values (${commit.streamId}, ${commit.events[0]?.version ?? 0})`.execute(trx);
      if (failing.has(commit.commitId)) throw new Error(`cannot apply ${commit.commitId}`);
    },
  };
  let sut: DeadLetterRetry<ReadModelTables>;

  const commit = (aggregateId: string, version: number): CommitMessage => ({
    commitId: randomUUID(),
    streamId: aggregateId,
    events: [
      { id: randomUUID(), streamId: aggregateId, version, type: 'notebook.updated', schemaVersion: 1, occurredAt: new Date().toISOString(), actorId: null, correlationId: null, causationId: null, data: {} },
    ],
  });
  let nextSequence = 1;
  const park = async (aggregateId: string, payload: CommitMessage | string) => {
    const sequence = nextSequence++;
    const bytes = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
    await sql`insert into read.dead_letters (projection, stream, sequence, aggregate_id, subject, payload, error)
              values (${projection.name}, 'notebooks', ${sequence}, ${aggregateId}, ${`notebooks.${aggregateId}`}, ${bytes}, 'parked')`.execute(db);
    return sequence;
  };
  const parked = async () =>
    (await sql<{ sequence: string; error: string; attempts: number }>`select sequence, error, attempts from read.dead_letters order by sequence`.execute(db)).rows.map((r) => ({
      ...r,
      sequence: Number(r.sequence),
    }));
  const applied = async () => (await sql<{ aggregate_id: string; version: number }>`select aggregate_id, version from read.applied order by id`.execute(db)).rows;

  beforeAll(async () => {
    infra = await createTestInfra();
    db = infra.database<ReadModelTables>();
    await createProjectorTablesV1(db, 'read');
    await sql`create table read.applied (id serial primary key, aggregate_id text not null, version int not null)`.execute(db);
    sut = new DeadLetterRetry(db, [projection]);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterAll(() => infra.dispose());
  beforeEach(async () => {
    failing.clear();
    await sql`truncate read.dead_letters, read.applied`.execute(db);
  });

  it('applies parked commits oldest first per aggregate and deletes the ones that applied', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const a1 = await park(a, commit(a, 1));
    const b1 = await park(b, commit(b, 1));
    const a2 = await park(a, commit(a, 2));

    const reply = await sut.retry({ projection: projection.name });

    expect(reply).toEqual({
      projection: projection.name,
      applied: 3,
      stillParked: 0,
      commits: [
        { sequence: a1, aggregateId: a, outcome: 'applied' },
        { sequence: b1, aggregateId: b, outcome: 'applied' },
        { sequence: a2, aggregateId: a, outcome: 'applied' },
      ],
    });
    expect(await applied()).toEqual([
      { aggregate_id: a, version: 1 },
      { aggregate_id: a, version: 2 },
      { aggregate_id: b, version: 1 },
    ]);
    expect(await parked()).toEqual([]);
  });

  it('keeps a commit that fails again with its new error and one more attempt, undoes its effects, and holds the later ones of its aggregate', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const bad = commit(a, 2);
    failing.add(bad.commitId);
    const a1 = await park(a, commit(a, 1));
    const a2 = await park(a, bad);
    const a3 = await park(a, commit(a, 3));
    const b1 = await park(b, 'garbage');

    const reply = await sut.retry({ projection: projection.name });

    expect(reply.commits).toEqual([
      { sequence: a1, aggregateId: a, outcome: 'applied' },
      { sequence: a2, aggregateId: a, outcome: 'failed', error: `failed on retry: cannot apply ${bad.commitId}` },
      { sequence: a3, aggregateId: a, outcome: 'waiting', error: `waiting behind parked sequence ${a2}` },
      { sequence: b1, aggregateId: b, outcome: 'failed', error: expect.stringMatching(/^undecodable commit: Unexpected token/) },
    ]);
    expect(reply).toMatchObject({ applied: 1, stillParked: 3 });
    expect(await applied()).toEqual([{ aggregate_id: a, version: 1 }]); // the failed apply's insert is rolled back
    expect(await parked()).toEqual([
      { sequence: a2, error: `failed on retry: cannot apply ${bad.commitId}`, attempts: 2 },
      { sequence: a3, error: 'parked', attempts: 1 },
      { sequence: b1, error: expect.stringMatching(/^undecodable commit/), attempts: 2 },
    ]);
  });

  it('retries only the chosen sequences, and never one behind an earlier parked commit it was not asked to retry', async () => {
    const a = randomUUID();
    const a1 = await park(a, commit(a, 1));
    const a2 = await park(a, commit(a, 2));

    const reply = await sut.retry({ projection: projection.name, sequences: [a2] });

    expect(reply.commits).toEqual([{ sequence: a2, aggregateId: a, outcome: 'waiting', error: `waiting behind parked sequence ${a1}` }]);
    expect((await parked()).map((p) => p.sequence)).toEqual([a1, a2]);
    expect(await sut.retry({ projection: projection.name, sequences: [a1] })).toMatchObject({ applied: 1, stillParked: 0 });
  });

  it('answers NOT_FOUND for a projection it does not run', async () => {
    const refusal = await sut.retry({ projection: 'nope' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RpcException);
    expect(refusal).toMatchObject({ code: 'NOT_FOUND', message: `no projection named nope; known: ${projection.name}` });
  });
});
