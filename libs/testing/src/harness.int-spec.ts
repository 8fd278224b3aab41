import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { Kysely, Migrator, sql } from 'kysely';
import { createTestInfra, type TestInfra } from './test-infra';

describe('test harness', () => {
  let infra: TestInfra;

  beforeAll(async () => {
    infra = await createTestInfra();
  });

  afterAll(() => infra.dispose());

  it('talks to a real JetStream: a stream is created, a message stored and read back', async () => {
    const nc = await infra.connectNats();
    const jsm = await jetstreamManager(nc);
    const stream = `${infra.namespace}_HARNESS`;
    await jsm.streams.add({ name: stream, subjects: [`${infra.namespace}.harness.>`], storage: StorageType.File });

    const ack = await jetstream(nc).publish(`${infra.namespace}.harness.a`, JSON.stringify({ hello: 'world' }));
    const stored = await jsm.streams.getMessage(stream, { seq: ack.seq });

    expect(ack.stream).toBe(stream);
    expect(stored?.json()).toEqual({ hello: 'world' });
    expect((await jsm.streams.info(stream)).config.storage).toBe(StorageType.File);
  });

  it('talks to a real Postgres: a migration is applied, a row written and read back', async () => {
    const db = infra.database<{ 'harness.greetings': { text: string } }>();
    const migrator = new Migrator({
      db: db as Kysely<unknown>,
      migrationTableSchema: 'harness',
      provider: {
        getMigrations: async () => ({
          '2026-01-01T00-00-00-greetings': {
            up: async (m: Kysely<unknown>) => {
              await m.schema.withSchema('harness').createTable('greetings').addColumn('text', 'text').execute();
            },
          },
        }),
      },
    });

    const { results, error } = await migrator.migrateToLatest();
    await db.insertInto('harness.greetings').values({ text: 'hello' }).execute();

    expect(error).toBeUndefined();
    expect(results?.map((r) => [r.migrationName, r.status])).toEqual([['2026-01-01T00-00-00-greetings', 'Success']]);
    expect(await db.selectFrom('harness.greetings').select('text').execute()).toEqual([{ text: 'hello' }]);
    const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(db);
    expect(rows[0]?.db).toBe(infra.namespace);
  });
});
