import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { randomUUID } from 'node:crypto';
import { errorCode, type GraphqlResponse } from '../../test/graphql-client';
import { NOTEBOOK_FIELDS, NotebooksClient, type NotebookView, type TestUser } from '../../test/notebooks-client';

const UPDATE_NOTEBOOK = 'updateNotebook(id: $id, input: $input, expectedVersion: $expected)';
const UPDATE_NOTEBOOK_ARGS = '$id: ID!, $input: UpdateNotebookInput!, $expected: Int';
const UPDATE_CELL = 'updateCell(notebookId: $id, cellId: $cell, input: $input, expectedVersion: $expected)';
const UPDATE_CELL_ARGS = '$id: ID!, $cell: ID!, $input: UpdateCellInput!, $expected: Int';

interface Page {
  notebooks: { edges: { cursor: string; node: { id: string; title: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; totalCount: number };
}
/** notebook-service's limit for this file: above what the other specs here use per user. */
const SHARE_LOOKUPS_PER_HOUR = 8;
const LIST = `query($scope: NotebookScope, $first: Int, $after: String) {
  notebooks(scope: $scope, first: $first, after: $after) { totalCount edges { cursor node { id title } } pageInfo { hasNextPage endCursor } }
}`;

describe('notebooks through the gateway', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let api: NotebooksClient;
  let ada: TestUser;
  let bob: TestUser;

  /** Every notebook of a scope, page by page. */
  const listAll = async (as: TestUser | null, scope: string, first: number, between: () => Promise<void> = async () => undefined) => {
    const seen: string[] = [];
    let after: string | null = null;
    let total = -1;
    for (;;) {
      const response: GraphqlResponse<Page> = await api.run<Page>(as, LIST, { scope, first, after });
      if (!response.data) throw new Error(JSON.stringify(response.errors));
      const { edges, pageInfo, totalCount } = response.data.notebooks;
      if (total === -1) total = totalCount;
      seen.push(...edges.map((edge) => edge.node.id));
      if (!pageInfo.hasNextPage) return { seen, total };
      after = pageInfo.endCursor;
      await between();
    }
  };

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['auth-service', 'notebook-service', 'projection-service', 'gateway'], infra.serviceEnv(), {
      'auth-service': { REGISTER_MAX_PER_ADDRESS: '1000' },
      'notebook-service': { SHARE_LOOKUPS_PER_HOUR: String(SHARE_LOOKUPS_PER_HOUR) },
      gateway: { READ_YOUR_WRITES_TIMEOUT_MS: '1500' },
    });
    api = new NotebooksClient(services.url('gateway'));
    [ada, bob] = await Promise.all([api.register('Ada'), api.register('Bob')]);
  });

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  it('creates a notebook and answers it as of the new version (read-your-writes)', async () => {
    const created = await api.createNotebook(ada, { title: '  Orbits  ', description: 'Kepler' });
    expect(created).toMatchObject({ version: 1, cellId: null });
    expect(created.notebook).toMatchObject({
      id: created.notebookId,
      title: 'Orbits',
      description: 'Kepler',
      visibility: 'PRIVATE',
      version: 1,
      myRole: 'OWNER',
      owner: { id: ada.id, email: ada.email, displayName: 'Ada' },
      cells: [],
      collaborators: [],
      forkedFrom: null,
    });
    expect(await api.notebook(ada, created.notebookId)).toEqual(created.notebook);
  });

  it('adds, edits, moves and deletes cells, keeping positions dense and names and references parsed', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Cells' });
    const x = await api.addCell(ada, notebookId, { value: 'x = 1' });
    const y = await api.addCell(ada, notebookId, { value: 'y = x + z', position: 0 });
    const text = await api.addCell(ada, notebookId, { kind: 'MARKDOWN', value: 'Hello ${y}' });
    expect(text.notebook.cells.map((c) => [c.id, c.position, c.name, c.references])).toEqual([
      [y.cellId, 0, 'y', ['x', 'z']],
      [x.cellId, 1, 'x', []],
      [text.cellId, 2, null, ['y']],
    ]);

    const edited = await api.change(ada, UPDATE_CELL, UPDATE_CELL_ARGS, { id: notebookId, cell: x.cellId, input: { value: 'w = 2 * y', isClosed: true } });
    expect(edited.cellId).toBe(x.cellId);
    expect(edited.notebook.cells[1]).toMatchObject({ value: 'w = 2 * y', name: 'w', references: ['y'], isClosed: true });

    const moved = await api.change(ada, 'moveCell(notebookId: $id, cellId: $cell, position: 0)', '$id: ID!, $cell: ID!', { id: notebookId, cell: text.cellId });
    expect(moved.notebook.cells.map((c) => [c.id, c.position])).toEqual([[text.cellId, 0], [y.cellId, 1], [x.cellId, 2]]);

    const deleted = await api.change(ada, 'deleteCell(notebookId: $id, cellId: $cell)', '$id: ID!, $cell: ID!', { id: notebookId, cell: y.cellId });
    expect(deleted.notebook.cells.map((c) => [c.id, c.position])).toEqual([[text.cellId, 0], [x.cellId, 1]]);
    expect(deleted.version).toBe(7);
  });

  it('updates title, description and visibility; a null description clears it', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Draft', description: 'to be removed' });
    const updated = await api.change(ada, UPDATE_NOTEBOOK, UPDATE_NOTEBOOK_ARGS, { id: notebookId, input: { title: 'Final', description: null, visibility: 'PUBLIC' } });
    expect(updated.notebook).toMatchObject({ title: 'Final', description: null, visibility: 'PUBLIC', version: 2 });
  });

  it('shares by email (any case) and unshares by user id, with roles, lists and visibility following', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Shared' });
    const shared = await api.share(ada, notebookId, bob.email.toUpperCase(), 'EDITOR');
    expect(shared.notebook.collaborators).toEqual([{ role: 'EDITOR', user: { id: bob.id, email: bob.email } }]);
    expect(await api.notebook(bob, notebookId)).toMatchObject({ myRole: 'EDITOR', owner: { id: ada.id } });
    expect((await listAll(bob, 'SHARED_WITH_ME', 50)).seen).toContain(notebookId);

    const viewer = await api.share(ada, notebookId, bob.email, 'VIEWER');
    expect(viewer.notebook.collaborators).toEqual([{ role: 'VIEWER', user: { id: bob.id, email: bob.email } }]);

    const unshared = await api.change(ada, 'unshareNotebook(id: $id, userId: $user)', '$id: ID!, $user: ID!', { id: notebookId, user: bob.id });
    expect(unshared.notebook.collaborators).toEqual([]);
    expect(await api.notebook(bob, notebookId)).toBeNull();
    expect((await listAll(bob, 'SHARED_WITH_ME', 50)).seen).not.toContain(notebookId);
  });

  it('refuses sharing with an unknown email, with oneself, as OWNER, or by a caller who may not share — writing nothing', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Careful' });
    const share = (as: TestUser, email: string, role = 'EDITOR') =>
      api.run(as, 'mutation($id: ID!, $email: String!, $role: Role!) { shareNotebook(id: $id, email: $email, role: $role) { version } }', { id: notebookId, email, role });

    expect(errorCode(await share(ada, 'nobody@example.com'))).toBe('NOT_FOUND');
    expect(errorCode(await share(ada, ada.email))).toBe('BAD_USER_INPUT');
    expect(errorCode(await share(ada, bob.email, 'OWNER'))).toBe('BAD_USER_INPUT');
    expect(errorCode(await share(ada, 'not an email'))).toBe('BAD_USER_INPUT');
    // Bob cannot see the notebook: whether the email exists is not his to learn, nor that the notebook does.
    expect(errorCode(await share(bob, 'nobody@example.com'))).toBe('NOT_FOUND');
    expect(errorCode(await share(bob, bob.email))).toBe('NOT_FOUND');
    expect(await api.notebook(ada, notebookId)).toMatchObject({ version: 1, collaborators: [] });
  });

  it('limits how often one user may ask whether emails have accounts', async () => {
    const mallory = await api.register('Mallory');
    const { notebookId } = await api.createNotebook(mallory, { title: 'Probe' });
    const probe = (email: string) => api.run(mallory, 'mutation($id: ID!, $email: String!) { shareNotebook(id: $id, email: $email, role: VIEWER) { version } }', { id: notebookId, email });
    for (let i = 0; i < SHARE_LOOKUPS_PER_HOUR; i++) expect(errorCode(await probe(`guess${i}@example.com`))).toBe('NOT_FOUND');
    const limited = await probe(bob.email);
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    expect(limited.errors?.[0]?.extensions?.['retryAfterSeconds']).toBeGreaterThan(0);
    // Others are not limited by Mallory's guesses.
    const shared = await api.createNotebook(bob, { title: 'Unaffected' });
    expect((await api.share(bob, shared.notebookId, ada.email, 'VIEWER')).notebook.collaborators).toHaveLength(1);
  });

  it('answers CONFLICT with the current version for a stale expectedVersion, and writes nothing', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Race' });
    await api.addCell(ada, notebookId, { value: 'a = 1' });
    const stale = await api.run(ada, `mutation($id: ID!, $input: UpdateNotebookInput!, $expected: Int) { ${UPDATE_NOTEBOOK} { version } }`, {
      id: notebookId,
      input: { title: 'Mine wins' },
      expected: 1,
    });
    expect(errorCode(stale)).toBe('CONFLICT');
    expect(stale.errors?.[0]?.extensions?.['currentVersion']).toBe(2);
    const current = await api.change(ada, UPDATE_NOTEBOOK, UPDATE_NOTEBOOK_ARGS, { id: notebookId, input: { title: 'Mine wins' }, expected: 2 });
    expect(current.notebook).toMatchObject({ title: 'Mine wins', version: 3 });
  });

  it('returns the first result for a retried idempotency key and writes nothing new', async () => {
    const key = randomUUID();
    const first = await api.createNotebook(bob, { title: 'Once' }, key);
    const retry = await api.createNotebook(bob, { title: 'Once' }, key);
    expect(retry.notebookId).toBe(first.notebookId);
    expect(retry.version).toBe(1);
    // Keys belong to their user: the same key from someone else is a different command.
    expect((await api.createNotebook(ada, { title: 'Once' }, key)).notebookId).not.toBe(first.notebookId);

    const cellKey = randomUUID();
    const add = () =>
      api.change(bob, 'addCell(notebookId: $id, input: { value: "n = 1" }, idempotencyKey: $key)', '$id: ID!, $key: String', { id: first.notebookId, key: cellKey });
    const [a, b] = [await add(), await add()];
    expect(b).toMatchObject({ cellId: a.cellId, version: a.version });
    expect(b.notebook.cells).toHaveLength(1);
  });

  it('takes 25 concurrent addCell on one notebook: all succeed, versions distinct, positions dense', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Busy' });
    const changes = await Promise.all(Array.from({ length: 25 }, (_, i) => api.addCell(ada, notebookId, { value: `c${i} = ${i}`, position: 0 })));
    expect(new Set(changes.map((c) => c.version)).size).toBe(25);
    expect(new Set(changes.map((c) => c.cellId)).size).toBe(25);
    const final = (await api.notebook(ada, notebookId, 26)) as NotebookView;
    expect(final.version).toBe(26);
    expect(final.cells.map((c) => c.position)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(new Set(final.cells.map((c) => c.id))).toEqual(new Set(changes.map((c) => c.cellId)));
  });

  it('pages without gaps or repeats, newest first, even while notebooks are created and edited meanwhile', async () => {
    const carol = await api.register('Carol');
    const created: string[] = [];
    for (let i = 0; i < 23; i++) created.push((await api.createNotebook(carol, { title: `Page ${i}` })).notebookId);

    const { seen, total } = await listAll(carol, 'MINE', 5, async () => {
      await api.createNotebook(carol, { title: 'Arrived while paging' });
      await api.change(carol, UPDATE_NOTEBOOK, UPDATE_NOTEBOOK_ARGS, { id: created[0], input: { title: 'Edited while paging' } });
    });
    expect(total).toBe(23);
    expect(seen).toEqual([...created].reverse());

    const everything = await listAll(carol, 'MINE', 100);
    expect(everything.total).toBe(23 + 4);
    expect(new Set(everything.seen).size).toBe(everything.seen.length);
  });

  it('refuses bad page arguments and lists only what a scope allows', async () => {
    expect(errorCode(await api.run(ada, LIST, { first: 101 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await api.run(ada, LIST, { first: -1 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await api.run(ada, LIST, { after: 'bm90IGEgY3Vyc29y' }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await api.run(null, LIST, { scope: 'MINE' }))).toBe('UNAUTHENTICATED');

    const { notebookId } = await api.createNotebook(bob, { title: 'For everyone', visibility: 'PUBLIC' });
    const hidden = (await api.createNotebook(bob, { title: 'For Bob' })).notebookId;
    const publicIds = (await listAll(null, 'PUBLIC', 100)).seen;
    expect(publicIds).toContain(notebookId);
    expect(publicIds).not.toContain(hidden);
    expect((await api.run<Page>(ada, LIST, { first: 0 })).data?.notebooks).toMatchObject({ edges: [], pageInfo: { hasNextPage: true } });
  });

  it('refuses bad input with a clear code and writes nothing', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Strict' });
    const { cellId } = await api.addCell(ada, notebookId, { value: 'a = 1' });
    const attempt = (mutation: string, variables: Record<string, unknown> = {}) => api.run(ada, mutation, { id: notebookId, cell: cellId, ...variables });
    const cases: [string, string, Record<string, unknown>?][] = [
      ['BAD_USER_INPUT', 'mutation { createNotebook(input: { title: "   " }) { version } }'],
      ['BAD_USER_INPUT', 'mutation($t: String!) { createNotebook(input: { title: $t }) { version } }', { t: 'x'.repeat(201) }],
      ['BAD_USER_INPUT', 'mutation($id: ID!) { updateNotebook(id: $id, input: { title: "" }) { version } }'],
      ['PAYLOAD_TOO_LARGE', 'mutation($id: ID!, $v: String) { addCell(notebookId: $id, input: { value: $v }) { version } }', { v: 'é'.repeat(128 * 1024 + 1) }],
      ['PAYLOAD_TOO_LARGE', 'mutation($id: ID!, $cell: ID!, $v: String) { updateCell(notebookId: $id, cellId: $cell, input: { value: $v }) { version } }', { v: 'x'.repeat(256 * 1024 + 1) }],
      ['BAD_USER_INPUT', 'mutation($id: ID!) { addCell(notebookId: $id, input: { position: -1 }) { version } }'],
      ['BAD_USER_INPUT', 'mutation($id: ID!) { addCell(notebookId: $id, input: { position: 2 }) { version } }'],
      ['BAD_USER_INPUT', 'mutation($id: ID!, $cell: ID!) { moveCell(notebookId: $id, cellId: $cell, position: 5) { version } }'],
      ['BAD_USER_INPUT', 'mutation($id: ID!) { addCell(notebookId: $id, input: { kind: SQL }) { version } }'],
      ['BAD_USER_INPUT', 'mutation($id: ID!) { shareNotebook(id: $id, email: "x@example.com", role: ADMIN) { version } }'],
      ['BAD_USER_INPUT', 'mutation { addCell(notebookId: "not-an-id", input: {}) { version } }'],
      ['NOT_FOUND', `mutation { addCell(notebookId: "${randomUUID()}", input: {}) { version } }`],
      ['NOT_FOUND', `mutation($id: ID!) { deleteCell(notebookId: $id, cellId: "${randomUUID()}") { version } }`],
      ['BAD_USER_INPUT', 'mutation($id: ID!) { restoreNotebook(id: $id, version: 0) { version } }'],
      ['BAD_USER_INPUT', 'mutation($id: ID!) { restoreNotebook(id: $id, version: 99) { version } }'],
      ['BAD_USER_INPUT', 'mutation($id: ID!) { updateNotebook(id: $id, input: {}, expectedVersion: -1) { version } }'],
    ];
    for (const [code, mutation, variables] of cases) expect([mutation, errorCode(await attempt(mutation, variables))]).toEqual([mutation, code]);
    expect(await api.notebook(ada, notebookId)).toMatchObject({ title: 'Strict', version: 2, cells: [{ value: 'a = 1' }] });
  });

  it('forks what the caller can read, keeping the source linked and its cells copied', async () => {
    const source = await api.createNotebook(ada, { title: 'Original', visibility: 'PUBLIC' });
    await api.addCell(ada, source.notebookId, { value: 'answer = 42' });
    const fork = await api.change(bob, 'forkNotebook(id: $id, title: "Mine now")', '$id: ID!', { id: source.notebookId });
    expect(fork.notebookId).not.toBe(source.notebookId);
    expect(fork.notebook).toMatchObject({ title: 'Mine now', myRole: 'OWNER', owner: { id: bob.id }, forkedFrom: { id: source.notebookId }, visibility: 'PRIVATE' });
    expect(fork.notebook.cells.map((c) => [c.value, c.name])).toEqual([['answer = 42', 'answer']]);

    const secret = await api.createNotebook(ada, { title: 'Secret' });
    expect(errorCode(await api.run(bob, 'mutation($id: ID!) { forkNotebook(id: $id) { version } }', { id: secret.notebookId }))).toBe('NOT_FOUND');
  });

  it('restores a past version by appending, so the version still grows', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Before' });
    await api.addCell(ada, notebookId, { value: 'kept = 1' });
    await api.change(ada, UPDATE_NOTEBOOK, UPDATE_NOTEBOOK_ARGS, { id: notebookId, input: { title: 'After' } });
    await api.addCell(ada, notebookId, { value: 'dropped = 2' });
    const restored = await api.change(ada, 'restoreNotebook(id: $id, version: 2)', '$id: ID!', { id: notebookId });
    expect(restored.notebook).toMatchObject({ title: 'Before', version: 5 });
    expect(restored.notebook.cells.map((c) => c.value)).toEqual(['kept = 1']);
  });

  it('deletes: the notebook is gone for everyone, from lists too, and a second delete is NOT_FOUND', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Doomed', visibility: 'PUBLIC' });
    const remove = () => api.run<{ deleteNotebook: boolean }>(ada, 'mutation($id: ID!) { deleteNotebook(id: $id) }', { id: notebookId });
    expect((await remove()).data?.deleteNotebook).toBe(true);
    expect(await api.notebook(ada, notebookId)).toBeNull();
    expect(await api.notebook(null, notebookId)).toBeNull();
    expect((await listAll(ada, 'MINE', 100)).seen).not.toContain(notebookId);
    expect(errorCode(await remove())).toBe('NOT_FOUND');
  });

  it('answers anonymous callers: public notebooks readable without a role, private ones absent, mutations refused', async () => {
    const open = await api.createNotebook(ada, { title: 'Open', visibility: 'PUBLIC' });
    const closed = await api.createNotebook(ada, { title: 'Closed' });
    expect(await api.notebook(null, open.notebookId)).toMatchObject({ title: 'Open', myRole: null, owner: { id: ada.id } });
    expect(await api.notebook(bob, open.notebookId)).toMatchObject({ myRole: null });
    expect(await api.notebook(null, closed.notebookId)).toBeNull();
    expect(await api.notebook(null, 'not-a-uuid')).toBeNull();
    const anonymous = await api.run(null, 'mutation { createNotebook(input: { title: "Nope" }) { version } }');
    expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
  });

  it('waits for minVersion, bounded: a version that never comes is UNAVAILABLE; a missing or hidden notebook is null, alike', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Patient' });
    const query = `query($id: ID!, $min: Int) { notebook(id: $id, minVersion: $min) { ${NOTEBOOK_FIELDS} } }`;
    const future = await api.run(ada, query, { id: notebookId, min: 50 });
    expect(errorCode(future)).toBe('UNAVAILABLE');
    // Bob may not see Ada's notebook: at its version or beyond, it answers as a missing one does, after the same wait.
    const timed = async (as: TestUser, id: string, min: number) => {
      const started = Date.now();
      const response = await api.run<{ notebook: unknown }>(as, query, { id, min });
      return { errors: response.errors, notebook: response.data?.notebook, waited: Date.now() - started >= 1_400 };
    };
    const absent = { errors: undefined, notebook: null, waited: true };
    expect(await timed(ada, randomUUID(), 1)).toEqual(absent);
    expect(await timed(bob, notebookId, 1)).toEqual(absent);
    expect(await timed(bob, notebookId, 2)).toEqual(absent);
    expect(errorCode(await api.run(ada, query, { id: notebookId, min: 0 }))).toBe('BAD_USER_INPUT');
    // Issued before the change exists: the answer waits for it rather than returning the old version.
    const pending = api.notebook(ada, notebookId, 2);
    await api.addCell(ada, notebookId, { value: 'late = true' });
    expect(await pending).toMatchObject({ version: 2, cells: [{ value: 'late = true' }] });
  });
});
