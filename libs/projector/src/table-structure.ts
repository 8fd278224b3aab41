import { sql, type QueryExecutorProvider } from 'kysely';

/** A connection or transaction; functions that `SET LOCAL` need a transaction. */
type Executor = QueryExecutorProvider;

/**
 * What a table is made of, as the catalog says, with names in its own schema left unqualified: two
 * tables of equal structure in different schemas describe the same.
 */
export interface TableStructure {
  table: string;
  comment: string | null;
  owner: string;
  privileges: string[];
  columns: { name: string; type: string; notNull: boolean; default: string | null; identity: string; generated: string; collation: string | null; comment: string | null }[];
  constraints: { name: string; type: string; definition: string; comment: string | null }[];
  indexes: { name: string; definition: string; comment: string | null }[];
}

/** The tables cannot be rebuilt and swapped as they are; the message says why. */
export class UnsupportedTablesError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'UnsupportedTablesError';
  }
}

/**
 * Runs `work` with `schemas` as the transaction's search path, then puts the old one back. Catalog
 * functions (pg_get_indexdef, pg_get_constraintdef, …) qualify only names that are not on the path.
 */
async function withSearchPath<T>(db: Executor, schemas: string[], work: () => Promise<T>): Promise<T> {
  const { rows } = await sql<{ path: string }>`select current_setting('search_path') as path`.execute(db);
  await sql`select set_config('search_path', ${schemas.map(quoteIdent).join(', ')}, true)`.execute(db);
  try {
    return await work();
  } finally {
    await sql`select set_config('search_path', ${rows[0]?.path ?? ''}, true)`.execute(db).catch(() => undefined);
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Describes `tables` of `schema`, in the order given. Sets the search path for a while: call it in a transaction. */
export function describeTables(db: Executor, schema: string, tables: readonly string[]): Promise<TableStructure[]> {
  return withSearchPath(db, [schema], () => describe(db, schema, [...tables]));
}

async function describe(db: Executor, schema: string, names: string[]): Promise<TableStructure[]> {
  const { rows: relations } = await sql<{ table: string; comment: string | null; owner: string; privileges: string[] | null }>`
    select c.relname as table, obj_description(c.oid, 'pg_class') as comment, pg_get_userbyid(c.relowner) as owner,
           array(select a::text from unnest(c.relacl) a order by 1) as privileges
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = any(${names}::text[]) and c.relkind in ('r', 'p')`.execute(db);
  const { rows: columns } = await sql<TableStructure['columns'][number] & { table: string }>`
    select c.relname as table, a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as "notNull",
           pg_get_expr(d.adbin, d.adrelid) as default, a.attidentity as identity, a.attgenerated as generated,
           case when a.attcollation <> t.typcollation then (select collname from pg_collation where oid = a.attcollation) end as collation,
           col_description(c.oid, a.attnum) as comment
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    join pg_type t on t.oid = a.atttypid
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where n.nspname = ${schema} and c.relname = any(${names}::text[]) and a.attnum > 0 and not a.attisdropped
    order by c.relname, a.attnum`.execute(db);
  const { rows: constraints } = await sql<TableStructure['constraints'][number] & { table: string }>`
    select c.relname as table, con.conname as name, con.contype as type, pg_get_constraintdef(con.oid, true) as definition,
           obj_description(con.oid, 'pg_constraint') as comment
    from pg_constraint con join pg_class c on c.oid = con.conrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = any(${names}::text[])
    order by c.relname, con.conname`.execute(db);
  const { rows: indexes } = await sql<TableStructure['indexes'][number] & { table: string }>`
    select c.relname as table, i.relname as name, pg_get_indexdef(x.indexrelid, 0, true) as definition, obj_description(i.oid, 'pg_class') as comment
    from pg_index x join pg_class i on i.oid = x.indexrelid
    join pg_class c on c.oid = x.indrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = any(${names}::text[])
    order by c.relname, i.relname`.execute(db);

  const missing = names.filter((name) => !relations.some((r) => r.table === name));
  if (missing.length > 0) throw new UnsupportedTablesError(missing.map((name) => `table ${schema}.${name} does not exist (are the migrations applied?)`));
  const of = <T extends { table: string }>(rows: T[], table: string) => rows.filter((r) => r.table === table).map(({ table: _, ...rest }) => rest);
  return names.map((table) => {
    const relation = relations.find((r) => r.table === table);
    return {
      table,
      comment: relation?.comment ?? null,
      owner: relation?.owner ?? '',
      privileges: relation?.privileges ?? [],
      columns: of(columns, table),
      constraints: of(constraints, table),
      indexes: of(indexes, table),
    };
  });
}

/**
 * Refuses tables a rebuild-and-swap would get wrong: foreign keys into or out of the set (the swap
 * drops and replaces exactly these tables), views and rules on them, triggers, row-level security,
 * partitions and inheritance, serial columns (their sequence would stay behind).
 */
export async function assertReplayable(db: Executor, schema: string, tables: readonly string[]): Promise<void> {
  const names = [...tables];
  const { rows } = await sql<{ problem: string }>`
    with owned as (
      select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${schema} and c.relname = any(${names}::text[])
    )
    select format('foreign key %s of %s references %s, outside the tables the projection declares', con.conname, con.conrelid::regclass, con.confrelid::regclass) as problem
    from pg_constraint con
    where con.contype = 'f' and ((con.conrelid in (select oid from owned)) <> (con.confrelid in (select oid from owned)))
    union all
    select distinct format('%s depends on %s', r.ev_class::regclass, d.refobjid::regclass)
    from pg_depend d join pg_rewrite r on r.oid = d.objid
    where d.classid = 'pg_rewrite'::regclass and d.refobjid in (select oid from owned) and r.ev_class not in (select oid from owned)
    union all
    select format('trigger %s on %s', t.tgname, t.tgrelid::regclass) from pg_trigger t where t.tgrelid in (select oid from owned) and not t.tgisinternal
    union all
    select format('%s has row-level security', c.oid::regclass) from pg_class c where c.oid in (select oid from owned) and (c.relrowsecurity or c.relforcerowsecurity)
    union all
    select format('%s is partitioned or inherits', c.oid::regclass) from pg_class c
    where c.oid in (select oid from owned) and (c.relkind = 'p' or c.relispartition or exists (select 1 from pg_inherits i where i.inhrelid = c.oid or i.inhparent = c.oid))
    union all
    select format('column %s.%s takes its default from a sequence (use an identity column)', a.attrelid::regclass, a.attname)
    from pg_attrdef d join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
    where d.adrelid in (select oid from owned) and pg_get_expr(d.adbin, d.adrelid) like 'nextval(%'`.execute(db);
  if (rows.length > 0) throw new UnsupportedTablesError(rows.map((r) => r.problem));
}

/**
 * Creates `tables` of schema `from` again in schema `to` (which must exist), empty and of the same
 * structure: columns with their types, defaults, identity, generation, not-null and check
 * constraints (`LIKE … INCLUDING …`), then primary keys, unique and exclusion constraints, foreign
 * keys between the tables, the other indexes, comments, owner and privileges — under their
 * original names, which are per schema, so once moved into `from` they read as the originals did.
 * Sets the search path for a while: call it in a transaction.
 */
export async function copyTableStructure(db: Executor, from: string, to: string, tables: readonly string[]): Promise<void> {
  const structures = await describeTables(db, from, tables);
  // Definitions were read with `from` on the path, so its names came out unqualified: with `to`
  // first on the path they name the copies (and anything else of `from`, e.g. a type, still resolves).
  await withSearchPath(db, [to, from], () => createCopies(db, from, to, structures));
}

async function createCopies(db: Executor, from: string, to: string, structures: TableStructure[]): Promise<void> {
  const { rows: me } = await sql<{ name: string }>`select current_user as name`.execute(db);
  for (const { table } of structures) {
    await sql`create table ${sql.id(to, table)} (like ${sql.id(from, table)}
      including defaults including constraints including generated including identity
      including comments including storage including compression)`.execute(db);
  }
  const owned = (definition: { type: string }, ...types: string[]) => types.includes(definition.type);
  for (const types of [['p', 'u', 'x'], ['f']]) {
    for (const { table, constraints } of structures) {
      for (const constraint of constraints.filter((c) => owned(c, ...types))) {
        await sql`alter table ${sql.id(to, table)} add constraint ${sql.id(constraint.name)} ${sql.raw(constraint.definition)}`.execute(db);
        if (constraint.comment !== null) {
          await sql`comment on constraint ${sql.id(constraint.name)} on ${sql.id(to, table)} is ${sql.lit(constraint.comment)}`.execute(db);
        }
      }
    }
  }
  for (const { table, constraints, indexes, comment, owner, privileges } of structures) {
    const backing = new Set(constraints.filter((c) => owned(c, 'p', 'u', 'x')).map((c) => c.name));
    for (const index of indexes.filter((i) => !backing.has(i.name))) {
      await sql.raw(index.definition).execute(db);
      if (index.comment !== null) await sql`comment on index ${sql.id(to, index.name)} is ${sql.lit(index.comment)}`.execute(db);
    }
    if (comment !== null) await sql`comment on table ${sql.id(to, table)} is ${sql.lit(comment)}`.execute(db);
    if (me[0]?.name !== owner) await sql`alter table ${sql.id(to, table)} owner to ${sql.id(owner)}`.execute(db);
    if (privileges.length > 0) await copyPrivileges(db, from, to, table);
  }
}

async function copyPrivileges(db: Executor, from: string, to: string, table: string): Promise<void> {
  const { rows } = await sql<{ grantee: string | null; privilege: string; grantable: boolean }>`
    select case when a.grantee = 0 then null else pg_get_userbyid(a.grantee) end as grantee, a.privilege_type as privilege, a.is_grantable as grantable
    from pg_class c join pg_namespace n on n.oid = c.relnamespace, aclexplode(c.relacl) a
    where n.nspname = ${from} and c.relname = ${table}`.execute(db);
  for (const { grantee, privilege, grantable } of rows) {
    const role = grantee === null ? sql.raw('public') : sql.id(grantee);
    await sql`grant ${sql.raw(privilege)} on table ${sql.id(to, table)} to ${role} ${sql.raw(grantable ? 'with grant option' : '')}`.execute(db);
  }
}
