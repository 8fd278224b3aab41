import { createTestInfra, type TestInfra } from '@notebooks/testing';
import { sql } from 'kysely';
import { createProjectorTablesV1, dropProjectorTablesV1 } from './projector-tables.migration';

describe(createProjectorTablesV1.name, () => {
  let infra: TestInfra;

  beforeAll(async () => {
    infra = await createTestInfra();
  });

  afterAll(() => infra.dispose());

  it('creates checkpoints and dead letters in the given schema, one checkpoint per projection and stream', async () => {
    const db = infra.database();
    await createProjectorTablesV1(db, 'read');

    await sql`insert into read.checkpoints (projection, stream, sequence) values ('notebooks', 'NOTEBOOKS', 42)`.execute(db);
    await expect(sql`insert into read.checkpoints (projection, stream) values ('notebooks', 'NOTEBOOKS')`.execute(db)).rejects.toThrow(
      /checkpoints_pkey/,
    );
    await sql`insert into read.dead_letters (projection, stream, sequence, aggregate_id, subject, payload, error)
              values ('notebooks', 'NOTEBOOKS', 7, 'n1', 'notebooks.n1', '\\x00', 'bad')`.execute(db);
    const { rows } = await sql<{ attempts: number }>`select attempts from read.dead_letters`.execute(db);
    expect(rows).toEqual([{ attempts: 1 }]);

    await dropProjectorTablesV1(db, 'read');
    const left = await sql<{ n: string }>`select count(*) as n from information_schema.tables where table_schema = 'read'`.execute(db);
    expect(left.rows[0]?.n).toBe('0');
  });
});
