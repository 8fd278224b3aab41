import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { randomInt } from 'node:crypto';
import { errorCode, type GraphqlResponse } from '../../test/graphql-client';
import { NotebooksClient, type TestUser } from '../../test/notebooks-client';

interface SearchView {
  total: number;
  hits: { cellId: string | null; snippet: string; score: number; notebook: { id: string; title: string; visibility: string; myRole: string | null } }[];
}

const SEARCH = `query($query: String!, $first: Int) {
  search(query: $query, first: $first) { total hits { cellId snippet score notebook { id title visibility myRole } } }
}`;

/** A word nothing else in this file contains, so each test sees only its own notebooks. */
const uniqueWord = () => `zq${Array.from({ length: 8 }, () => String.fromCharCode(97 + randomInt(26))).join('')}`;

describe('search through the gateway', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let api: NotebooksClient;
  let ada: TestUser;
  let bob: TestUser;

  const run = (as: TestUser | null, query: string, first?: number): Promise<GraphqlResponse<{ search: SearchView }>> => api.run(as, SEARCH, { query, first });
  const search = async (as: TestUser | null, query: string, first?: number): Promise<SearchView> => {
    const response = await run(as, query, first);
    if (!response.data?.search) throw new Error(`search failed: ${JSON.stringify(response.errors)}`);
    return response.data.search;
  };
  /** Searches until `expected` holds: the index follows the log a moment after the read model does. */
  const searchUntil = async (as: TestUser | null, query: string, expected: (result: SearchView) => boolean, timeoutMs = 10_000): Promise<SearchView> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = await search(as, query);
      if (expected(result)) return result;
      if (Date.now() > deadline) throw new Error(`search "${query}" still answers ${JSON.stringify(result)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const totalIs = (n: number) => (result: SearchView) => result.total === n;

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['auth-service', 'notebook-service', 'projection-service', 'search-service', 'gateway'], infra.serviceEnv());
    api = new NotebooksClient(services.url('gateway'));
    [ada, bob] = await Promise.all([api.register('Ada'), api.register('Bob')]);
  });

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  it('shows owners their private and public notebooks, everyone else the public ones, with totals to match', async () => {
    const word = uniqueWord();
    const secret = await api.createNotebook(ada, { title: `Private ${word}` });
    await api.addCell(ada, secret.notebookId, { value: `// ${word} in a cell` });
    const open = await api.createNotebook(ada, { title: `Public ${word}`, visibility: 'PUBLIC' });
    const bobs = await api.createNotebook(bob, { title: `Bob's ${word}` });

    const mine = await searchUntil(ada, word, totalIs(3));
    expect(mine.hits.map((hit) => hit.notebook.id).sort()).toEqual([secret.notebookId, secret.notebookId, open.notebookId].sort());
    expect(mine.hits.every((hit) => hit.notebook.myRole === 'OWNER')).toBe(true);

    const theirs = await searchUntil(bob, word, totalIs(2));
    expect(theirs.hits.map((hit) => hit.notebook.id).sort()).toEqual([open.notebookId, bobs.notebookId].sort());
    const anonymous = await search(null, word);
    expect(anonymous).toMatchObject({ total: 1, hits: [{ cellId: null, notebook: { id: open.notebookId, visibility: 'PUBLIC', myRole: null } }] });

    const firstOnly = await search(ada, word, 1);
    expect({ hits: firstOnly.hits.length, total: firstOnly.total }).toEqual({ hits: 1, total: 3 });
  });

  it('matches words by their stem and every word of a multi-word query; ranks title matches first; marks matches', async () => {
    const word = uniqueWord();
    const body = await api.createNotebook(ada, { title: 'Field notes' });
    const cell = await api.addCell(ada, body.notebookId, { value: `the rover kept running past ${word} crater` });
    const titled = await api.createNotebook(ada, { title: `${word} crater survey`, description: 'where rovers run' });

    const result = await searchUntil(ada, `${word} crater`, totalIs(2));
    expect(result.hits.map((hit) => [hit.notebook.id, hit.cellId])).toEqual([
      [titled.notebookId, null],
      [body.notebookId, cell.cellId],
    ]);
    expect(result.hits[0]?.score).toBeGreaterThan(result.hits[1]?.score ?? Infinity);
    expect(result.hits[0]?.snippet).toBe(`<mark>${word}</mark> <mark>crater</mark> survey where rovers run`);

    const stemmed = await search(ada, `run ${word}`);
    expect(stemmed.hits.map((hit) => hit.cellId).sort()).toEqual([cell.cellId, null].sort());
    expect(stemmed.hits.find((hit) => hit.cellId === cell.cellId)?.snippet).toBe(`the rover kept <mark>running</mark> past <mark>${word}</mark> crater`);
    expect((await search(ada, `"kept running" ${word}`)).hits.map((hit) => hit.cellId)).toEqual([cell.cellId]);
    expect((await search(ada, `${word} volcano`)).total).toBe(0);
  });

  it('finds misspelt and partial words, below exact matches', async () => {
    const word = uniqueWord();
    const exact = await api.createNotebook(ada, { title: `Heliocentric ${word}` });
    const other = await api.createNotebook(ada, { title: `Epicycles ${word}` });
    await searchUntil(ada, word, totalIs(2));

    const typo = await search(ada, `heliocentirc ${word}`);
    expect(typo.hits.map((hit) => hit.notebook.id)).toEqual([exact.notebookId]);
    expect(typo.hits[0]?.snippet).toBe(`<mark>Heliocentric</mark> <mark>${word}</mark>`);
    expect((await search(ada, `helioc ${word}`)).hits.map((hit) => hit.notebook.id)).toEqual([exact.notebookId]);
    const partialWord = await search(ada, word.slice(0, 7));
    expect(partialWord.hits.map((hit) => hit.notebook.id).sort()).toEqual([exact.notebookId, other.notebookId].sort());

    const exactFirst = await search(ada, `heliocentric ${word} or ${word.slice(0, 7)}`);
    expect(exactFirst.hits[0]?.notebook.id).toBe(exact.notebookId);
  });

  it('answers hostile text like any other, and shows markup escaped', async () => {
    const word = uniqueWord();
    const marked = await api.createNotebook(ada, { title: `Robert'); DROP TABLE students;-- ${word}` });
    const html = await api.addCell(ada, marked.notebookId, { kind: 'HTML', value: `<script>alert("${word}")</script>` });
    await searchUntil(ada, word, totalIs(2));

    for (const query of [`'; drop table search.documents; --`, '&|!:*()', `"`, `\\`, `<script>`, `'${word}`, `${word}:*`, `(${word}`, `!${word}`, `${word} <-> ${word}`, '\u{1F600}']) {
      const response = await run(ada, query);
      expect({ query, errors: response.errors }).toEqual({ query, errors: undefined });
      expect(response.data?.search.total).toEqual(expect.any(Number));
    }
    expect((await search(ada, `'; drop table ${word}`)).hits.map((hit) => hit.notebook.id)).toEqual([marked.notebookId]);
    const script = await search(ada, `<script> ${word}`);
    expect(script.hits).toEqual([expect.objectContaining({ cellId: html.cellId, snippet: `&lt;<mark>script</mark>&gt;alert(&quot;<mark>${word}</mark>&quot;)&lt;/script&gt;` })]);
  });

  it('forgets deleted cells and notebooks, and follows sharing and visibility as soon as they are projected', async () => {
    const word = uniqueWord();
    const { notebookId } = await api.createNotebook(ada, { title: `Shared ${word}` });
    const { cellId } = await api.addCell(ada, notebookId, { value: `${word} cell` });

    await api.share(ada, notebookId, bob.email, 'VIEWER');
    expect((await searchUntil(bob, word, totalIs(2))).hits.every((hit) => hit.notebook.myRole === 'VIEWER')).toBe(true);
    await api.change(ada, 'unshareNotebook(id: $id, userId: $user)', '$id: ID!, $user: ID!', { id: notebookId, user: bob.id });
    await searchUntil(bob, word, totalIs(0));

    await api.change(ada, 'updateNotebook(id: $id, input: $input)', '$id: ID!, $input: UpdateNotebookInput!', { id: notebookId, input: { visibility: 'PUBLIC' } });
    await searchUntil(null, word, totalIs(2));
    await api.change(ada, 'updateNotebook(id: $id, input: $input)', '$id: ID!, $input: UpdateNotebookInput!', { id: notebookId, input: { visibility: 'PRIVATE' } });
    await searchUntil(bob, word, totalIs(0));

    await api.change(ada, 'deleteCell(notebookId: $id, cellId: $cell)', '$id: ID!, $cell: ID!', { id: notebookId, cell: cellId });
    const left = await searchUntil(ada, word, totalIs(1));
    expect(left.hits.map((hit) => hit.cellId)).toEqual([null]);
    const deleted = await api.run<{ deleteNotebook: boolean }>(ada, 'mutation($id: ID!) { deleteNotebook(id: $id) }', { id: notebookId });
    expect(deleted.data?.deleteNotebook).toBe(true);
    await searchUntil(ada, word, totalIs(0));
  });

  it('refuses empty, whitespace-only and overlong queries and page sizes outside 1 to 100', async () => {
    for (const [query, first] of [['', 20], ['  \n\t ', 20], ['x'.repeat(501), 20], ['orbits', 0], ['orbits', 101]] as const) {
      const response = await run(ada, query, first);
      expect({ query: query.slice(0, 10), first, code: errorCode(response) }).toEqual({ query: query.slice(0, 10), first, code: 'BAD_USER_INPUT' });
    }
    expect((await run(ada, 'x'.repeat(500), 100)).errors).toBeUndefined();
  });
});
