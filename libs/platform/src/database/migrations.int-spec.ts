import { createTestInfra, type TestInfra } from '@notebooks/testing';
import { sql } from 'kysely';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateToLatest } from './migrations';

describe(migrateToLatest.name, () => {
  let infra: TestInfra;
  let folder: string;

  beforeAll(async () => {
    infra = await createTestInfra();
    folder = mkdtempSync(join(tmpdir(), 'migrations-'));
  });

  afterAll(async () => {
    rmSync(folder, { recursive: true, force: true });
    await infra.dispose();
  });

  it('applies a folder\'s migrations in name order once, even when replicas start together', async () => {
    writeFileSync(
      join(folder, '2026-01-02T00-00-00-add-column.js'),
      `exports.up = (db) => db.schema.withSchema('svc').alterTable('items').addColumn('note', 'text').execute();`,
    );
    writeFileSync(
      join(folder, '2026-01-01T00-00-00-create.js'),
      `exports.up = async (db) => {
         await db.schema.createSchema('svc').ifNotExists().execute();
         await db.schema.withSchema('svc').createTable('items').addColumn('id', 'integer').execute();
       };`,
    );
    writeFileSync(join(folder, 'notes.spec.ts'), 'not a migration');
    const db = infra.database();

    const runs = await Promise.all([1, 2, 3].map(() => migrateToLatest(db, 'svc', folder)));

    expect(runs.flat().sort()).toEqual(['2026-01-01T00-00-00-create', '2026-01-02T00-00-00-add-column']);
    const { rows } = await sql<{ column_name: string }>`
      select column_name from information_schema.columns where table_schema = 'svc' and table_name = 'items' order by ordinal_position`.execute(db);
    expect(rows.map((r) => r.column_name)).toEqual(['id', 'note']);
  });

  it('stops with the failing migration\'s name and cause', async () => {
    writeFileSync(join(folder, '2026-01-03T00-00-00-broken.js'), `exports.up = (db) => db.schema.dropTable('svc.nope').execute();`);

    await expect(migrateToLatest(infra.database(), 'svc', folder)).rejects.toThrow(
      /migration 2026-01-03T00-00-00-broken of schema "svc" failed: .*nope/,
    );
  });
});
