import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from 'kysely';
import { RewriteSchemaPlugin, UndeclaredTableError, WithholdNotificationsPlugin } from './schema-rewrite.plugin';

interface Tables {
  'read.notebooks': { id: string; version: number; title: string };
  'read.cells': { notebook_id: string; id: string; position: number };
  'read.activity': { notebook_id: string; edits: number };
  'read.users': { id: string };
  'search.documents': { id: string };
  plain: { id: string };
}

const db = new Kysely<Tables>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

describe(RewriteSchemaPlugin.name, () => {
  const sut = db.withPlugin(new RewriteSchemaPlugin({ from: 'read', to: 'read_replay_x', tables: ['notebooks', 'cells', 'activity'] }));

  it('sends selects, joins, qualified column references and subqueries to the other schema', () => {
    const query = sut
      .selectFrom('read.notebooks')
      .innerJoin('read.cells', 'read.cells.notebook_id', 'read.notebooks.id')
      .select(['read.notebooks.version', 'read.cells.position'])
      .where('read.notebooks.id', 'in', (eb) => eb.selectFrom('read.cells').select('notebook_id').where('position', '>', 0))
      .forUpdate()
      .compile();

    expect(query.sql).toBe(
      'select "read_replay_x"."notebooks"."version", "read_replay_x"."cells"."position" from "read_replay_x"."notebooks" ' +
        'inner join "read_replay_x"."cells" on "read_replay_x"."cells"."notebook_id" = "read_replay_x"."notebooks"."id" ' +
        'where "read_replay_x"."notebooks"."id" in (select "notebook_id" from "read_replay_x"."cells" where "position" > $1) for update',
    );
  });

  it('sends inserts with upserts, updates and deletes with returning to the other schema, and leaves `excluded` alone', () => {
    const upsert = sut
      .insertInto('read.activity')
      .values({ notebook_id: 'n', edits: 1 })
      .onConflict((c) => c.column('notebook_id').doUpdateSet((eb) => ({ edits: eb('read.activity.edits', '+', eb.ref('excluded.edits')) })))
      .compile();
    const update = sut.updateTable('read.cells').set({ position: sql`position + 1` }).where('notebook_id', '=', 'n').compile();
    const remove = sut.deleteFrom('read.cells').where('id', '=', 'c').returning('position').compile();

    expect(upsert.sql).toBe(
      'insert into "read_replay_x"."activity" ("notebook_id", "edits") values ($1, $2) on conflict ("notebook_id") do update set "edits" = "read_replay_x"."activity"."edits" + "excluded"."edits"',
    );
    expect(update.sql).toBe('update "read_replay_x"."cells" set "position" = position + 1 where "notebook_id" = $1');
    expect(remove.sql).toBe('delete from "read_replay_x"."cells" where "id" = $1 returning "position"');
  });

  it('rewrites tables named in raw SQL with sql.table, not identifiers spelled out with sql.id', () => {
    const query = sql`select * from ${sql.table('read.cells')}, ${sql.id('read', 'notebooks')}`.compile(sut);

    expect(query.sql).toBe('select * from "read_replay_x"."cells", "read"."notebooks"');
  });

  it('leaves other schemas and unqualified tables alone', () => {
    expect(sut.selectFrom('search.documents').select('id').compile().sql).toBe('select "id" from "search"."documents"');
    expect(sut.selectFrom('plain').select('id').compile().sql).toBe('select "id" from "plain"');
  });

  it('refuses a table of the schema that is not among those declared', () => {
    expect(() => sut.selectFrom('read.users').select('id').compile()).toThrow(UndeclaredTableError);
    expect(() => sut.selectFrom('read.users').select('id').compile()).toThrow('read.users, which is not among the tables it declares');
  });

  it('rewrites every table of the schema when none are declared', () => {
    const all = db.withPlugin(new RewriteSchemaPlugin({ from: 'read', to: 'elsewhere' }));

    expect(all.selectFrom('read.users').select('id').compile().sql).toBe('select "id" from "elsewhere"."users"');
  });
});

describe(WithholdNotificationsPlugin.name, () => {
  const sut = db.withPlugin(new WithholdNotificationsPlugin());

  it('turns `select pg_notify(…)` into a statement that does nothing, and leaves everything else alone', () => {
    expect(sql`select pg_notify(${'channel'}, ${'payload'})`.compile(sut).sql).toBe('select null');
    expect(sql`  SELECT pg_notify (${'channel'}, ${'payload'})`.compile(sut).sql).toBe('select null');
    expect(sql`select ${'pg_notify('} as text`.compile(sut).sql).toBe('select $1 as text');
    expect(sut.selectFrom('plain').select('id').compile().sql).toBe('select "id" from "plain"');
  });
});
