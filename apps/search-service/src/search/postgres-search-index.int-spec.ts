import type { NotebookEvent, SearchReply } from '@notebooks/contracts';
import { InMemoryEventStore } from '@notebooks/event-store';
import { migrateToLatest } from '@notebooks/platform';
import { replayProjection } from '@notebooks/projector';
import { createTestInfra, type TestInfra } from '@notebooks/testing';
import { sql, type Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PostgresSearchIndex, type SearchTables } from './postgres-search-index';
import { SEARCH_PROJECTIONS } from './projections';

const [projection] = SEARCH_PROJECTIONS as [(typeof SEARCH_PROJECTIONS)[number]];

describe(PostgresSearchIndex.name, () => {
  let infra: TestInfra;
  let db: Kysely<SearchTables>;
  let store: InMemoryEventStore;
  let sut: PostgresSearchIndex;
  const ada = randomUUID();
  const bob = randomUUID();
  const versions = new Map<string, number>();

  /** Appends a commit to the log and projects it, as the live projection would. */
  const write = async (notebookId: string, ...events: NotebookEvent[]) => {
    const result = await store.append({ category: 'notebooks', id: notebookId }, { events, actorId: null }, 'any');
    await db.transaction().execute((trx) => projection.apply(trx, result.events.length ? { commitId: randomUUID(), streamId: notebookId, events: result.events } : never(), result.sequence));
    versions.set(notebookId, result.version);
  };
  const never = (): never => {
    throw new Error('empty commit');
  };
  const notebook = async (ownerId: string, title: string, options: { visibility?: 'PUBLIC' | 'PRIVATE'; description?: string | null; cells?: string[] } = {}) => {
    const id = randomUUID();
    const cellIds = (options.cells ?? []).map(() => randomUUID());
    await write(
      id,
      { type: 'notebook.created', data: { ownerId, title, description: options.description ?? null, visibility: options.visibility ?? 'PRIVATE', forkedFrom: null } },
      ...(options.cells ?? []).map((value, position): NotebookEvent => ({ type: 'cell.created', data: { cellId: cellIds[position] ?? '', kind: 'JS', value, position, isClosed: false } })),
    );
    return { id, cellIds };
  };
  const search = (query: string, viewerId: string | null = ada, first = 100): Promise<SearchReply> => sut.search({ query, first, viewerId });
  const ids = (reply: SearchReply) => reply.hits.map((hit) => hit.cellId ?? hit.notebookId);

  beforeAll(async () => {
    infra = await createTestInfra();
    db = infra.database<SearchTables>();
    await migrateToLatest(db as Kysely<unknown>, 'search', join(__dirname, '..', '..', 'migrations'));
    store = new InMemoryEventStore();
    sut = new PostgresSearchIndex(db);
  });

  afterAll(() => infra.dispose());

  it('finds words by their stem, in titles, descriptions and cells, title matches first', async () => {
    const body = await notebook(ada, 'Notes', { cells: ['// the rover was running all night\nrover = 1'] });
    const title = await notebook(ada, 'Rover runs', { description: 'a log' });
    const description = await notebook(ada, 'Mars', { description: 'where the rover runs' });

    const reply = await search('rover running');
    expect(ids(reply)).toEqual([title.id, description.id, body.cellIds[0]]);
    expect(reply.total).toBe(3);
    expect(reply.hits.map((hit) => hit.score)).toEqual([...reply.hits.map((hit) => hit.score)].sort((a, b) => b - a));
    expect(reply.hits[0]?.score).toBeGreaterThanOrEqual(2);
    expect(reply.hits[2]?.snippet).toBe('// the <mark>rover</mark> was <mark>running</mark> all night <mark>rover</mark> = 1');
    expect(reply.hits[0]?.snippet).toBe('<mark>Rover</mark> <mark>runs</mark> a log');
    const long = await notebook(ada, 'Long', { cells: [`${'lorem ipsum dolor sit amet '.repeat(40)}the rover is at crater ${'lorem ipsum '.repeat(100)}`] });
    const fragment = (await search('rover crater')).hits.find((hit) => hit.cellId === long.cellIds[0])?.snippet;
    expect(fragment).toMatch(/^(lorem|ipsum|dolor|sit|amet) .* the <mark>rover<\/mark> is at <mark>crater<\/mark> lorem .*[^…]$/);
    expect(fragment?.length).toBeLessThan(300);
  });

  it('reads phrases, `or` and exclusions as web search engines do', async () => {
    const a = await notebook(ada, 'Quasar light', { cells: ['pulsar timing'] });
    const b = await notebook(ada, 'light of a quasar');
    expect(ids(await search('"quasar light"'))).toEqual([a.id]);
    expect(ids(await search('quasar -timing')).sort()).toEqual([a.id, b.id].sort());
    expect(ids(await search('quasar -light'))).toEqual([]);
    expect(ids(await search('pulsar or "light of a quasar"')).sort()).toEqual([a.cellIds[0], b.id].sort());
  });

  it('finds misspelt and partial words through similar terms, below exact matches', async () => {
    const exact = await notebook(ada, 'Heliocentric models');
    const typo = await notebook(ada, 'Epicycles', { cells: ['heliocentrism was a revolution'] });
    expect(ids(await search('heliocentirc'))).toEqual([exact.id, typo.cellIds[0]]);
    expect(ids(await search('heliocen'))).toEqual(expect.arrayContaining([exact.id, typo.cellIds[0]]));
    const both = await search('heliocentric');
    expect(ids(both)[0]).toBe(exact.id);
    expect(both.hits[0]?.score).toBeGreaterThan(2);
    const fuzzy = await search('revolutoin');
    expect(ids(fuzzy)).toEqual([typo.cellIds[0]]);
    expect(fuzzy.hits[0]?.score).toBeLessThan(1);
    expect(fuzzy.hits[0]?.snippet).toContain('<mark>revolution</mark>');
  });

  it('answers any text, hostile or empty of words, without failing', async () => {
    const marker = await notebook(ada, 'Drop table students', { cells: ['<script>alert("x")</script> robert'] });
    const html = await notebook(ada, 'Markup', { cells: ['<b onclick="steal()">bobby</b> & tables'] });
    for (const query of [`'; drop table search.documents; --`, '&|!:*()', '"', '"""', '\\', `'`, '<script>', 'the', '-', '-robert', 'or', ':*', '(', 'a:*b', '\u{1F600}', 'x'.repeat(500)]) {
      await expect(search(query)).resolves.toEqual(expect.objectContaining({ hits: expect.any(Array), total: expect.any(Number) }));
    }
    expect(ids(await search(`'; drop table`))).toContain(marker.id);
    // Markup and code are text like any other, shown escaped.
    const script = await search('<script> robert');
    expect(ids(script)).toEqual([marker.cellIds[0]]);
    expect(script.hits[0]?.snippet).toBe('&lt;<mark>script</mark>&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark>robert</mark>');
    expect(ids(await search('alert'))).toEqual([marker.cellIds[0]]);
    expect((await search('bobby')).hits[0]).toMatchObject({ cellId: html.cellIds[0], snippet: '&lt;b onclick=&quot;steal()&quot;&gt;<mark>bobby</mark>&lt;/b&gt; &amp; tables' });
    expect(ids(await search('steal'))).toEqual([html.cellIds[0]]);
  });

  it('filters by access inside the query: totals count only what the viewer may read', async () => {
    const privateOne = await notebook(ada, 'Nebula private', { cells: ['nebula cell'] });
    const publicOne = await notebook(ada, 'Nebula public', { visibility: 'PUBLIC', cells: ['nebula cell'] });
    const shared = await notebook(bob, 'Nebula shared');

    expect(ids(await search('nebula', ada)).sort()).toEqual([privateOne.id, privateOne.cellIds[0], publicOne.id, publicOne.cellIds[0]].sort());
    expect((await search('nebula', bob)).total).toBe(3);
    expect((await search('nebula', null)).total).toBe(2);
    expect((await search('nebula', null, 1)).hits).toHaveLength(1);
    expect((await search('nebula', null, 1)).total).toBe(2);

    await write(shared.id, { type: 'notebook.shared', data: { userId: ada, role: 'VIEWER' } });
    expect((await search('nebula', ada)).total).toBe(5);
    await write(shared.id, { type: 'notebook.unshared', data: { userId: ada } });
    expect((await search('nebula', ada)).total).toBe(4);

    await write(privateOne.id, { type: 'cell.deleted', data: { cellId: privateOne.cellIds[0] ?? '' } });
    await write(publicOne.id, { type: 'notebook.deleted', data: {} });
    expect(ids(await search('nebula', ada))).toEqual([privateOne.id]);
    expect((await search('nebula', null)).total).toBe(0);
  });

  it('is rebuilt by a replay to exactly what the live projection holds', async () => {
    const rows = async () => ({
      notebooks: await db.selectFrom('search.notebooks').selectAll().orderBy('id').execute(),
      collaborators: await db.selectFrom('search.collaborators').selectAll().orderBy('notebook_id').orderBy('user_id').execute(),
      documents: (await sql<Record<string, unknown>>`select *, document::text as document from search.documents order by notebook_id, cell_id nulls first`.execute(db)).rows,
    });
    const before = await rows();
    const terms = await db.selectFrom('search.terms').select('term').orderBy('term').execute();
    const beforeReply = await search('nebula heliocentric rover', ada);

    const result = await replayProjection({ projection, store, db });

    expect(result.sequence).toBe(await store.head('notebooks'));
    expect(await rows()).toEqual(before);
    expect(await db.selectFrom('search.terms').select('term').orderBy('term').execute()).toEqual(terms);
    expect(await search('nebula heliocentric rover', ada)).toEqual(beforeReply);
  });
});

