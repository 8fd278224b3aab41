import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { randomInt, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { errorCode, type GraphqlResponse } from '../../test/graphql-client';
import { NotebooksClient, type NotebookView, type TestUser } from '../../test/notebooks-client';
import { RestClient, type RestResponse } from '../../test/rest-client';
import {
  AuthSessionBody,
  CellBody,
  CellListBody,
  ErrorBody,
  NotebookBody,
  NotebookEventPageBody,
  NotebookPageBody,
  SearchResultBody,
} from './rest.schemas';

const LOGIN_MAX_FAILURES_PER_ACCOUNT = 3;
const READ_YOUR_WRITES_TIMEOUT_MS = 1_500;

/** The fields NOTEBOOK_FIELDS asks GraphQL for, taken from a REST answer. */
function asGraphql(notebook: NotebookBody): NotebookView {
  return {
    id: notebook.id,
    title: notebook.title,
    description: notebook.description,
    visibility: notebook.visibility,
    version: notebook.version,
    myRole: notebook.myRole,
    createdAt: notebook.createdAt,
    updatedAt: notebook.updatedAt,
    owner: { id: notebook.owner.id, email: notebook.owner.email, displayName: notebook.owner.displayName },
    cells: notebook.cells.map(({ id, kind, value, position, isClosed, name, references }) => ({ id, kind, value, position, isClosed, name, references })),
    collaborators: notebook.collaborators.map(({ role, user }) => ({ role, user: { id: user.id, email: user.email } })),
    forkedFrom: notebook.forkedFromId === null ? null : { id: notebook.forkedFromId },
  };
}

/** A word nothing else in this file contains. */
const uniqueWord = () => `zq${Array.from({ length: 8 }, () => String.fromCharCode(97 + randomInt(26))).join('')}`;

describe('the REST facade', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let api: NotebooksClient;
  let rest: RestClient;
  let ada: TestUser;
  let bob: TestUser;
  let address = 0;
  /** A fresh client address, so per-address limits only bite where a test wants them. */
  const from = () => ({ 'x-forwarded-for': `198.51.100.${++address}` });

  /** The answer's body as its documented schema has it: what the OpenAPI document promises is what is served. */
  const documented = <S extends z.ZodType>(schema: S, response: RestResponse, status: number): z.infer<S> => {
    expect({ status: response.status, body: response.body }).toEqual({ status, body: expect.anything() });
    return schema.parse(response.body);
  };
  /** An error answer: its status, and its body in the documented shape with that code. */
  const failure = (response: RestResponse) => {
    const body = ErrorBody.parse(response.body);
    return { status: response.status, code: body.error.code };
  };
  const createNotebook = async (as: TestUser, input: Record<string, unknown>, headers: Record<string, string> = {}) =>
    documented(NotebookBody, await rest.post('/api/notebooks', { as, body: input, headers }), 201);
  const addCell = async (as: TestUser, notebookId: string, input: Record<string, unknown> = {}) =>
    documented(CellBody, await rest.post(`/api/notebooks/${notebookId}/cells`, { as, body: input }), 201);
  const notebookVersion = async (as: TestUser, id: string) => documented(NotebookBody, await rest.get(`/api/notebooks/${id}`, { as }), 200).version;

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['auth-service', 'notebook-service', 'projection-service', 'search-service', 'gateway'], infra.serviceEnv(), {
      'auth-service': { REGISTER_MAX_PER_ADDRESS: '1000', LOGIN_MAX_FAILURES_PER_ACCOUNT: String(LOGIN_MAX_FAILURES_PER_ACCOUNT) },
      gateway: { TRUST_PROXY: 'true', READ_YOUR_WRITES_TIMEOUT_MS: String(READ_YOUR_WRITES_TIMEOUT_MS) },
    });
    api = new NotebooksClient(services.url('gateway'));
    rest = new RestClient(services.url('gateway'));
    [ada, bob] = await Promise.all([api.register('Ada'), api.register('Bob')]);
  });

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  describe('notebooks and cells', () => {
    it('answers the same notebook as GraphQL does, to its owner, a collaborator and anonymous readers', async () => {
      const created = await rest.post('/api/notebooks', { as: ada, body: { title: '  Orbits ', description: 'Kepler', visibility: 'PUBLIC' } });
      const notebook = documented(NotebookBody, created, 201);
      expect(notebook).toMatchObject({ title: 'Orbits', description: 'Kepler', visibility: 'PUBLIC', version: 1, myRole: 'OWNER', owner: { id: ada.id, email: ada.email }, cells: [] });
      expect(created.headers).toMatchObject({ location: `/api/notebooks/${notebook.id}`, etag: '"1"' });

      await addCell(ada, notebook.id, { value: 'x = 1' });
      await addCell(ada, notebook.id, { kind: 'MARKDOWN', value: 'x is ${x}', position: 0 });
      await api.share(ada, notebook.id, bob.email, 'VIEWER');

      for (const as of [ada, bob, null]) {
        const read = await rest.get(`/api/notebooks/${notebook.id}`, { as });
        const body = documented(NotebookBody, read, 200);
        expect(read.headers['etag']).toBe('"4"');
        expect(asGraphql(body)).toEqual(await api.notebook(as, notebook.id));
      }
      // Anonymous readers see names, not addresses, exactly as on GraphQL.
      const anonymous = documented(NotebookBody, await rest.get(`/api/notebooks/${notebook.id}`), 200);
      expect(anonymous).toMatchObject({ myRole: null, owner: { email: '' }, collaborators: [{ role: 'VIEWER', user: { id: bob.id, email: '' } }] });

      // A fork links its source only for callers who may see the source.
      const fork = await api.change(bob, 'forkNotebook(id: $id)', '$id: ID!', { id: notebook.id });
      expect(documented(NotebookBody, await rest.get(`/api/notebooks/${fork.notebookId}`, { as: bob }), 200).forkedFromId).toBe(notebook.id);
      await api.change(ada, 'updateNotebook(id: $id, input: { visibility: PRIVATE })', '$id: ID!', { id: notebook.id });
      await api.change(ada, 'unshareNotebook(id: $id, userId: $user)', '$id: ID!, $user: ID!', { id: notebook.id, user: bob.id });
      const orphan = documented(NotebookBody, await rest.get(`/api/notebooks/${fork.notebookId}`, { as: bob }), 200);
      expect(orphan.forkedFromId).toBeNull();
      expect(asGraphql(orphan)).toEqual(await api.notebook(bob, fork.notebookId));
    });

    it('changes notebooks and cells, each answer read back at the version it produced', async () => {
      const { id } = await createNotebook(ada, { title: 'Draft', description: 'to be removed' });
      const renamed = await rest.put(`/api/notebooks/${id}`, { as: ada, body: { title: 'Final', description: null } });
      expect(documented(NotebookBody, renamed, 200)).toMatchObject({ title: 'Final', description: null, visibility: 'PRIVATE', version: 2 });
      expect(renamed.headers['etag']).toBe('"2"');

      const x = await addCell(ada, id, { value: 'x = 1' });
      expect(x).toMatchObject({ notebookId: id, notebookVersion: 3, kind: 'JS', value: 'x = 1', position: 0, name: 'x', references: [], isClosed: false });
      const blank = await rest.post(`/api/notebooks/${id}/cells`, { as: ada });
      expect(documented(CellBody, blank, 201)).toMatchObject({ value: '', kind: 'JS', position: 1, notebookVersion: 4 });
      const blankId = (blank.body as CellBody).id;
      expect(blank.headers['location']).toBe(`/api/cells/${blankId}`);

      // Cells are addressed by their own id: the gateway finds their notebook.
      const edited = await rest.put(`/api/cells/${blankId}`, { as: ada, body: { value: 'y = x + 1', isClosed: true } });
      expect(documented(CellBody, edited, 200)).toMatchObject({ id: blankId, notebookId: id, notebookVersion: 5, name: 'y', references: ['x'], isClosed: true });
      expect(edited.headers['etag']).toBe('"5"');
      const moved = documented(CellBody, await rest.put(`/api/cells/${blankId}`, { as: ada, body: { position: 0 } }), 200);
      expect(moved).toMatchObject({ position: 0, notebookVersion: 6 });
      expect(documented(CellBody, await rest.get(`/api/cells/${x.id}`, { as: ada }), 200)).toMatchObject({ id: x.id, notebookId: id, position: 1, notebookVersion: 6 });

      const removed = await rest.delete(`/api/cells/${x.id}`, { as: ada });
      expect({ status: removed.status, etag: removed.headers['etag'] }).toEqual({ status: 204, etag: '"7"' });
      const cells = await rest.get(`/api/notebooks/${id}/cells`, { as: ada });
      expect(documented(CellListBody, cells, 200).cells.map((cell) => [cell.id, cell.position])).toEqual([[blankId, 0]]);
      expect(cells.headers['etag']).toBe('"7"');
      expect(failure(await rest.get(`/api/cells/${x.id}`, { as: ada }))).toEqual({ status: 404, code: 'NOT_FOUND' });

      expect((await rest.delete(`/api/notebooks/${id}`, { as: ada })).status).toBe(204);
      expect(failure(await rest.get(`/api/notebooks/${id}`, { as: ada }))).toEqual({ status: 404, code: 'NOT_FOUND' });
      expect(await api.notebook(ada, id)).toBeNull();
      expect(failure(await rest.delete(`/api/notebooks/${id}`, { as: ada }))).toEqual({ status: 404, code: 'NOT_FOUND' });
    });

    it('lists pages of notebooks as GraphQL does, and refuses bad page arguments', async () => {
      const carol = await api.register('Carol');
      const created: string[] = [];
      for (let i = 0; i < 5; i++) created.push((await createNotebook(carol, { title: `Page ${i}` })).id);
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const query = `?scope=MINE&first=2${after ? `&after=${encodeURIComponent(after)}` : ''}`;
        const page: NotebookPageBody = documented(NotebookPageBody, await rest.get(`/api/notebooks${query}`, { as: carol }), 200);
        expect(page.totalCount).toBe(5);
        seen.push(...page.notebooks.map((notebook) => notebook.id));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(seen).toEqual([...created].reverse());
      const graphql = await api.run<{ notebooks: { edges: { cursor: string; node: { id: string } }[] } }>(carol, '{ notebooks(first: 5) { edges { cursor node { id } } } }');
      expect(graphql.data?.notebooks.edges.map((edge) => edge.node.id)).toEqual(seen);

      for (const query of ['?first=101', '?first=-1', '?first=two', '?scope=EVERYTHING', '?after=bm90IGEgY3Vyc29y', '?frist=2']) {
        expect({ query, ...failure(await rest.get(`/api/notebooks${query}`, { as: carol })) }).toEqual({ query, status: 400, code: 'BAD_USER_INPUT' });
      }
      expect(failure(await rest.get('/api/notebooks'))).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
      expect(errorCode(await api.run(null, '{ notebooks { totalCount } }'))).toBe('UNAUTHENTICATED');
      expect(documented(NotebookPageBody, await rest.get('/api/notebooks?scope=PUBLIC&first=0'), 200).notebooks).toEqual([]);
    });

    it('takes Idempotency-Key like GraphQL takes idempotencyKey: a retry answers the first result and writes nothing', async () => {
      const key = randomUUID();
      const first = await createNotebook(bob, { title: 'Once' }, { 'Idempotency-Key': key });
      const retry = await createNotebook(bob, { title: 'Once' }, { 'Idempotency-Key': key });
      expect(retry.id).toBe(first.id);
      const viaGraphql = await api.createNotebook(bob, { title: 'Once' }, key);
      expect(viaGraphql.notebookId).toBe(first.id);

      const cellKey = { 'Idempotency-Key': randomUUID() };
      const a = documented(CellBody, await rest.post(`/api/notebooks/${first.id}/cells`, { as: bob, body: { value: 'n = 1' }, headers: cellKey }), 201);
      const b = documented(CellBody, await rest.post(`/api/notebooks/${first.id}/cells`, { as: bob, body: { value: 'n = 1' }, headers: cellKey }), 201);
      expect(b.id).toBe(a.id);
      expect(await notebookVersion(bob, first.id)).toBe(2);
    });

    it('waits for minVersion, bounded, as GraphQL does: UNAVAILABLE for a version that never comes, 404 for a hidden notebook alike a missing one', async () => {
      const { id } = await createNotebook(ada, { title: 'Patient' });
      expect(failure(await rest.get(`/api/notebooks/${id}?minVersion=50`, { as: ada }))).toEqual({ status: 503, code: 'UNAVAILABLE' });
      const started = Date.now();
      const [hidden, missing] = await Promise.all([rest.get(`/api/notebooks/${id}?minVersion=1`, { as: bob }), rest.get(`/api/notebooks/${randomUUID()}?minVersion=1`, { as: bob })]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(READ_YOUR_WRITES_TIMEOUT_MS - 100);
      expect(hidden.body).toEqual(missing.body);
      expect(failure(hidden)).toEqual({ status: 404, code: 'NOT_FOUND' });
      expect(failure(await rest.get(`/api/notebooks/${id}?minVersion=0`, { as: ada }))).toEqual({ status: 400, code: 'BAD_USER_INPUT' });

      const pending = rest.get(`/api/notebooks/${id}/cells?minVersion=2`, { as: ada });
      await addCell(ada, id, { value: 'late = true' });
      expect(documented(CellListBody, await pending, 200).cells.map((cell) => cell.value)).toEqual(['late = true']);
    });
  });

  describe('errors, as GraphQL gives them', () => {
    it('refuses changes without a valid bearer token, and any request with an invalid one', async () => {
      const { id } = await createNotebook(ada, { title: 'Guarded', visibility: 'PUBLIC' });
      const anonymous = await rest.post('/api/notebooks', { body: { title: 'Nope' } });
      expect(failure(anonymous)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
      expect(anonymous.headers['www-authenticate']).toBe('Bearer');
      expect(errorCode(await api.run(null, 'mutation { createNotebook(input: { title: "Nope" }) { version } }'))).toBe('UNAUTHENTICATED');
      for (const response of [
        await rest.put(`/api/notebooks/${id}`, { body: { title: 'Nope' } }),
        await rest.delete(`/api/notebooks/${id}`),
        await rest.post(`/api/notebooks/${id}/cells`, { body: {} }),
      ]) {
        expect(failure(response)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
      }
      // Public reads need no token; a token that does not verify is refused everywhere, as on /graphql.
      expect((await rest.get(`/api/notebooks/${id}`)).status).toBe(200);
      const forged = { authorization: 'Bearer not.a.token' };
      const restForged = await rest.get(`/api/notebooks/${id}`, { headers: forged });
      const graphqlForged = await api.run({ ...ada, headers: forged }, `{ notebook(id: "${id}") { id } }`);
      expect(failure(restForged)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
      expect((restForged.body as ErrorBody).error.message).toBe(graphqlForged.errors?.[0]?.message);
      expect(await notebookVersion(ada, id)).toBe(1);
    });

    it('answers a notebook the caller may not see exactly as a missing one, on every route', async () => {
      const { id } = await createNotebook(ada, { title: 'Secret' });
      const cell = await addCell(ada, id, { value: 'secret = 42' });
      const missingNotebook = randomUUID();
      const missingCell = randomUUID();
      const attempts = (notebookId: string, cellId: string): [string, () => Promise<RestResponse>][] => [
        ['GET notebook', () => rest.get(`/api/notebooks/${notebookId}`, { as: bob })],
        ['PUT notebook', () => rest.put(`/api/notebooks/${notebookId}`, { as: bob, body: { title: 'Mine' } })],
        ['DELETE notebook', () => rest.delete(`/api/notebooks/${notebookId}`, { as: bob })],
        ['GET cells', () => rest.get(`/api/notebooks/${notebookId}/cells`, { as: bob })],
        ['POST cell', () => rest.post(`/api/notebooks/${notebookId}/cells`, { as: bob, body: { value: 'z = 1' } })],
        ['GET events', () => rest.get(`/api/notebooks/${notebookId}/events`, { as: bob })],
        ['GET cell', () => rest.get(`/api/cells/${cellId}`, { as: bob })],
        ['PUT cell', () => rest.put(`/api/cells/${cellId}`, { as: bob, body: { value: 'stolen' } })],
        ['DELETE cell', () => rest.delete(`/api/cells/${cellId}`, { as: bob })],
        ['POST execute', () => rest.post(`/api/cells/${cellId}/execute`, { as: bob })],
        ['GET cell anonymously', () => rest.get(`/api/cells/${cellId}`)],
      ];
      const hidden = attempts(id, cell.id);
      const missing = attempts(missingNotebook, missingCell);
      for (const [index, [name, attempt]] of hidden.entries()) {
        const [hiddenAnswer, missingAnswer] = [await attempt(), await (missing[index]?.[1] as () => Promise<RestResponse>)()];
        expect({ name, ...failure(hiddenAnswer), body: hiddenAnswer.body }).toEqual({ name, status: 404, code: 'NOT_FOUND', body: missingAnswer.body });
      }
      expect(errorCode(await api.run(bob, 'mutation($id: ID!) { updateNotebook(id: $id, input: { title: "Mine" }) { version } }', { id }))).toBe('NOT_FOUND');
      expect(await notebookVersion(ada, id)).toBe(2);
    });

    it('answers FORBIDDEN to a collaborator whose role does not allow the change, writing nothing', async () => {
      const { id } = await createNotebook(ada, { title: 'Look, do not touch' });
      const cell = await addCell(ada, id, { value: 'x = 1' });
      await api.share(ada, id, bob.email, 'VIEWER');
      const before = await notebookVersion(ada, id);
      for (const [name, response] of [
        ['PUT notebook', await rest.put(`/api/notebooks/${id}`, { as: bob, body: { title: 'Mine' } })],
        ['DELETE notebook', await rest.delete(`/api/notebooks/${id}`, { as: bob })],
        ['POST cell', await rest.post(`/api/notebooks/${id}/cells`, { as: bob, body: {} })],
        ['PUT cell', await rest.put(`/api/cells/${cell.id}`, { as: bob, body: { value: 'x = 2' } })],
        ['DELETE cell', await rest.delete(`/api/cells/${cell.id}`, { as: bob })],
      ] as const) {
        expect({ name, ...failure(response) }).toEqual({ name, status: 403, code: 'FORBIDDEN' });
      }
      expect(errorCode(await api.run(bob, 'mutation($id: ID!) { updateNotebook(id: $id, input: { title: "Mine" }) { version } }', { id }))).toBe('FORBIDDEN');
      expect(documented(CellBody, await rest.get(`/api/cells/${cell.id}`, { as: bob }), 200)).toMatchObject({ value: 'x = 1' });
      expect(await notebookVersion(ada, id)).toBe(before);
    });

    it('answers CONFLICT with the current version for a stale If-Match or expectedVersion, and writes nothing', async () => {
      const { id } = await createNotebook(ada, { title: 'Race' });
      const cell = await addCell(ada, id, { value: 'a = 1' });
      const stale = [
        await rest.put(`/api/notebooks/${id}`, { as: ada, body: { title: 'Mine wins' }, headers: { 'If-Match': '"1"' } }),
        await rest.put(`/api/notebooks/${id}`, { as: ada, body: { title: 'Mine wins', expectedVersion: 1 } }),
        await rest.put(`/api/cells/${cell.id}`, { as: ada, body: { value: 'a = 2' }, headers: { 'If-Match': '1' } }),
        await rest.post(`/api/notebooks/${id}/cells`, { as: ada, body: { value: 'b = 1' }, headers: { 'If-Match': '"3"' } }),
        await rest.delete(`/api/cells/${cell.id}`, { as: ada, headers: { 'If-Match': '"1"' } }),
        await rest.delete(`/api/notebooks/${id}`, { as: ada, body: { expectedVersion: 5 } }),
      ];
      for (const response of stale) {
        expect({ ...failure(response), currentVersion: (response.body as ErrorBody).error.currentVersion }).toEqual({ status: 409, code: 'CONFLICT', currentVersion: 2 });
      }
      const graphql = await api.run(ada, 'mutation($id: ID!) { updateNotebook(id: $id, input: { title: "Mine wins" }, expectedVersion: 1) { version } }', { id });
      expect(graphql.errors?.[0]?.extensions).toEqual({ ...(stale[0]?.body as ErrorBody).error, message: undefined });
      expect(graphql.errors?.[0]?.message).toBe((stale[0]?.body as ErrorBody).error.message);

      const current = await rest.put(`/api/notebooks/${id}`, { as: ada, body: { title: 'Mine wins' }, headers: { 'If-Match': '"2"' } });
      expect(documented(NotebookBody, current, 200)).toMatchObject({ title: 'Mine wins', version: 3 });
      expect(failure(await rest.put(`/api/notebooks/${id}`, { as: ada, body: { title: 'x', expectedVersion: 2 }, headers: { 'If-Match': '"3"' } }))).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
    });

    it('refuses bad input with 400 (and a too large cell or body with 413), writing nothing', async () => {
      const { id } = await createNotebook(ada, { title: 'Strict' });
      const cell = await addCell(ada, id, { value: 'a = 1' });
      const cases: [number, string, () => Promise<RestResponse>][] = [
        [400, 'blank title', () => rest.post('/api/notebooks', { as: ada, body: { title: '   ' } })],
        [400, 'long title', () => rest.post('/api/notebooks', { as: ada, body: { title: 'x'.repeat(201) } })],
        [400, 'no body', () => rest.post('/api/notebooks', { as: ada })],
        [400, 'unknown field', () => rest.post('/api/notebooks', { as: ada, body: { title: 'Typo', visibilty: 'PUBLIC' } })],
        [400, 'unknown visibility', () => rest.post('/api/notebooks', { as: ada, body: { title: 'x', visibility: 'SECRET' } })],
        [400, 'malformed JSON', () => rest.post('/api/notebooks', { as: ada, raw: '{"title":', headers: { 'content-type': 'application/json' } })],
        [400, 'empty title change', () => rest.put(`/api/notebooks/${id}`, { as: ada, body: { title: '' } })],
        [400, 'malformed notebook id', () => rest.put('/api/notebooks/not-an-id', { as: ada, body: { title: 'x' } })],
        [400, 'malformed cell id', () => rest.put('/api/cells/not-an-id', { as: ada, body: { value: 'x' } })],
        [400, 'negative position', () => rest.post(`/api/notebooks/${id}/cells`, { as: ada, body: { position: -1 } })],
        [400, 'position past the end', () => rest.post(`/api/notebooks/${id}/cells`, { as: ada, body: { position: 2 } })],
        [400, 'unknown kind', () => rest.post(`/api/notebooks/${id}/cells`, { as: ada, body: { kind: 'SQL' } })],
        [400, 'move past the end', () => rest.put(`/api/cells/${cell.id}`, { as: ada, body: { position: 5 } })],
        [400, 'move and edit at once', () => rest.put(`/api/cells/${cell.id}`, { as: ada, body: { position: 0, value: 'b = 2' } })],
        [400, 'negative expectedVersion', () => rest.put(`/api/notebooks/${id}`, { as: ada, body: { expectedVersion: -1 } })],
        [400, 'malformed If-Match', () => rest.put(`/api/notebooks/${id}`, { as: ada, body: {}, headers: { 'If-Match': 'W/"2"' } })],
        [400, 'empty Idempotency-Key', () => rest.post('/api/notebooks', { as: ada, body: { title: 'x' }, headers: { 'Idempotency-Key': '' } })],
        [400, 'text body', () => rest.put(`/api/cells/${cell.id}`, { as: ada, raw: 'value=x', headers: { 'content-type': 'text/plain' } })],
        [413, 'cell over 256 KiB', () => rest.post(`/api/notebooks/${id}/cells`, { as: ada, body: { value: 'é'.repeat(128 * 1024 + 1) } })],
        [413, 'cell edit over 256 KiB', () => rest.put(`/api/cells/${cell.id}`, { as: ada, body: { value: 'x'.repeat(256 * 1024 + 1) } })],
        [413, 'body over 1 MiB', () => rest.post('/api/notebooks', { as: ada, body: { title: 'x', description: 'x'.repeat(1024 * 1024) } })],
      ];
      for (const [status, name, attempt] of cases) {
        const response = await attempt();
        expect({ name, ...failure(response) }).toEqual({ name, status, code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_USER_INPUT' });
      }
      // The same mistakes through GraphQL get the same codes.
      const viaGraphql: [string, string, Record<string, unknown>][] = [
        ['BAD_USER_INPUT', 'mutation { createNotebook(input: { title: "   " }) { version } }', {}],
        ['PAYLOAD_TOO_LARGE', 'mutation($id: ID!, $v: String) { addCell(notebookId: $id, input: { value: $v }) { version } }', { id, v: 'é'.repeat(128 * 1024 + 1) }],
        ['BAD_USER_INPUT', 'mutation($id: ID!) { addCell(notebookId: $id, input: { position: 2 }) { version } }', { id }],
      ];
      for (const [code, mutation, variables] of viaGraphql) expect([mutation, errorCode(await api.run(ada, mutation, variables))]).toEqual([mutation, code]);
      const blank = await rest.post('/api/notebooks', { as: ada, body: { title: '   ' } });
      const blankViaGraphql: GraphqlResponse = await api.run(ada, 'mutation { createNotebook(input: { title: "   " }) { version } }');
      expect((blank.body as ErrorBody).error.message).toBe(blankViaGraphql.errors?.[0]?.message);

      expect(documented(NotebookBody, await rest.get(`/api/notebooks/${id}`, { as: ada }), 200)).toMatchObject({ title: 'Strict', version: 2, cells: [{ value: 'a = 1' }] });
      const mine = documented(NotebookPageBody, await rest.get('/api/notebooks?first=100', { as: ada }), 200);
      expect(mine.notebooks.filter((notebook) => notebook.title === 'Typo' || notebook.title === 'x')).toEqual([]);
    });

    it('answers unknown routes and errors it cannot place in the same shape, without internals', async () => {
      const unknown = await rest.get('/api/nothing-here');
      expect({ ...failure(unknown), body: unknown.body }).toEqual({ status: 404, code: 'NOT_FOUND', body: { error: { code: 'NOT_FOUND', message: expect.any(String) } } });
      expect(JSON.stringify(unknown.body)).not.toMatch(/\bat \w+ \(|\.ts:\d+/);
    });
  });

  describe('running cells', () => {
    it('checks the caller, the input and the cell before asking execution-service, and says UNAVAILABLE when it does not answer', async () => {
      const { id } = await createNotebook(ada, { title: 'Runnable' });
      const cell = await addCell(ada, id, { value: 'x = 6 * 7' });
      expect(failure(await rest.post(`/api/cells/${cell.id}/execute`))).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
      expect(failure(await rest.post('/api/cells/not-a-cell/execute', { as: ada }))).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
      expect(failure(await rest.post(`/api/cells/${cell.id}/execute`, { as: ada, body: { deadline: 1 } }))).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
      expect(failure(await rest.post(`/api/cells/${randomUUID()}/execute`, { as: ada }))).toEqual({ status: 404, code: 'NOT_FOUND' });
      expect(failure(await rest.post(`/api/cells/${cell.id}/execute`, { as: bob }))).toEqual({ status: 404, code: 'NOT_FOUND' });
      // This file starts no execution-service: the request reaches NATS and nobody answers.
      const unanswered = await rest.post(`/api/cells/${cell.id}/execute`, { as: ada, body: {} });
      expect(failure(unanswered)).toEqual({ status: 503, code: 'UNAVAILABLE' });
    });
  });

  describe('history', () => {
    it('pages through a notebook\'s events as GraphQL history does, hiding what the caller may not learn', async () => {
      const { id } = await createNotebook(ada, { title: 'Chronicle', visibility: 'PUBLIC' });
      const cell = await addCell(ada, id, { value: 'a = 1' });
      await rest.put(`/api/cells/${cell.id}`, { as: ada, body: { value: 'a = 2' } });
      await rest.put(`/api/notebooks/${id}`, { as: ada, body: { title: 'Chronicle II' } });
      await addCell(ada, id, { value: 'b = a' });

      const pages: NotebookEventPageBody[] = [];
      let afterVersion = 0;
      for (;;) {
        const page = documented(NotebookEventPageBody, await rest.get(`/api/notebooks/${id}/events?afterVersion=${afterVersion}&first=2`, { as: null }), 200);
        pages.push(page);
        if (!page.pageInfo.hasNextPage) break;
        afterVersion = page.pageInfo.endVersion ?? afterVersion;
      }
      expect(pages.map((page) => page.events.map((event) => event.version))).toEqual([[1, 2], [3, 4], [5]]);
      const events = pages.flatMap((page) => page.events);
      expect(events.map((event) => event.type)).toEqual(['notebook.created', 'cell.created', 'cell.updated', 'notebook.updated', 'cell.created']);
      // An anonymous reader sees who, not their address.
      expect(events.every((event) => event.actor?.id === ada.id && event.actor.email === '')).toBe(true);

      const graphql = await api.run<{ notebook: { history: { version: number; type: string; occurredAt: string; data: unknown; actor: { id: string; email: string } | null }[] } }>(
        null,
        'query($id: ID!) { notebook(id: $id) { history { version type occurredAt data actor { id email } } } }',
        { id },
      );
      expect(events.map(({ version, type, occurredAt, data, actor }) => ({ version, type, occurredAt, data, actor: actor && { id: actor.id, email: actor.email } }))).toEqual(
        graphql.data?.notebook.history,
      );
      expect(documented(NotebookEventPageBody, await rest.get(`/api/notebooks/${id}/events?afterVersion=5`), 200)).toEqual({ events: [], pageInfo: { hasNextPage: false, endVersion: null } });
      for (const query of ['?afterVersion=-1', '?first=1001', '?afterVersion=x']) {
        expect({ query, ...failure(await rest.get(`/api/notebooks/${id}/events${query}`)) }).toEqual({ query, status: 400, code: 'BAD_USER_INPUT' });
      }
    });
  });

  describe('search', () => {
    it('answers what GraphQL search answers, to each caller', async () => {
      const word = uniqueWord();
      const secret = await createNotebook(ada, { title: `Private ${word}` });
      await addCell(ada, secret.id, { value: `// ${word} in a cell` });
      const open = await createNotebook(ada, { title: `Public ${word}`, visibility: 'PUBLIC' });
      const query = `/api/notebooks/search?q=${encodeURIComponent(word)}`;
      const deadline = Date.now() + 10_000;
      let mine = documented(SearchResultBody, await rest.get(query, { as: ada }), 200);
      while (mine.total < 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        mine = documented(SearchResultBody, await rest.get(query, { as: ada }), 200);
      }
      expect(mine.hits.map((hit) => hit.notebook.id).sort()).toEqual([secret.id, secret.id, open.id].sort());

      const SEARCH = 'query($q: String!, $first: Int) { search(query: $q, first: $first) { total hits { cellId snippet score notebook { id myRole } } } }';
      for (const as of [ada, bob, null]) {
        const viaRest = documented(SearchResultBody, await rest.get(`${query}&first=10`, { as }), 200);
        const viaGraphql = await api.run<{ search: { total: number; hits: { notebook: { id: string; myRole: string | null } }[] } }>(as, SEARCH, { q: word, first: 10 });
        expect({ total: viaRest.total, hits: viaRest.hits.map(({ cellId, snippet, score, notebook }) => ({ cellId, snippet, score, notebook: { id: notebook.id, myRole: notebook.myRole } })) }).toEqual(
          viaGraphql.data?.search,
        );
      }
      for (const bad of ['/api/notebooks/search', '/api/notebooks/search?q=', `/api/notebooks/search?q=${'x'.repeat(501)}`, `${query}&first=0`, `${query}&first=101`]) {
        expect({ bad: bad.slice(0, 40), ...failure(await rest.get(bad)) }).toEqual({ bad: bad.slice(0, 40), status: 400, code: 'BAD_USER_INPUT' });
      }
    });
  });

  describe('accounts', () => {
    const email = () => `Grace.${randomUUID().slice(0, 8)}@Example.com`;

    it('registers, logs in, refreshes and logs out, with sessions that work on GraphQL too', async () => {
      const address = email();
      const registered = await rest.post('/api/auth/register', { body: { email: address, password: 'correct horse battery', displayName: ' Grace ' }, headers: from() });
      const session = documented(AuthSessionBody, registered, 201);
      expect(session.user).toMatchObject({ email: address.toLowerCase(), displayName: 'Grace' });

      const loggedIn = documented(AuthSessionBody, await rest.post('/api/auth/login', { body: { email: address.toUpperCase(), password: 'correct horse battery' }, headers: from() }), 200);
      expect(loggedIn.user.id).toBe(session.user.id);
      const grace: TestUser = { id: session.user.id, email: address.toLowerCase(), token: loggedIn.accessToken, headers: { authorization: `Bearer ${loggedIn.accessToken}` } };
      expect((await api.run<{ me: { id: string } }>(grace, '{ me { id } }')).data?.me.id).toBe(session.user.id);
      expect((await createNotebook(grace, { title: 'By REST token' })).owner.id).toBe(session.user.id);

      const refreshed = documented(AuthSessionBody, await rest.post('/api/auth/refresh', { body: { refreshToken: loggedIn.refreshToken } }), 200);
      expect(refreshed.refreshToken).not.toBe(loggedIn.refreshToken);
      expect((await rest.post('/api/auth/logout', { body: { refreshToken: refreshed.refreshToken } })).status).toBe(204);
      expect(failure(await rest.post('/api/auth/refresh', { body: { refreshToken: refreshed.refreshToken } }))).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
      expect(errorCode(await api.run(null, 'mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }', { t: refreshed.refreshToken }))).toBe('UNAUTHENTICATED');
    });

    it('refuses what GraphQL refuses, with the same codes and messages, and rate-limits with Retry-After', async () => {
      const address = email();
      await rest.post('/api/auth/register', { body: { email: address, password: 'correct horse battery', displayName: 'Grace' }, headers: from() });
      const duplicate = await rest.post('/api/auth/register', { body: { email: address, password: 'correct horse battery', displayName: 'Grace' }, headers: from() });
      const duplicateViaGraphql = await api.run(
        { ...ada, headers: from() },
        'mutation($e: String!) { register(input: { email: $e, password: "correct horse battery", displayName: "Grace" }) { accessToken } }',
        { e: address },
      );
      expect(failure(duplicate)).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
      expect((duplicate.body as ErrorBody).error.message).toBe(duplicateViaGraphql.errors?.[0]?.message);
      for (const body of [{ email: 'not an email', password: 'correct horse battery', displayName: 'G' }, { email: email(), password: 'short', displayName: 'G' }, { email: email(), password: 'correct horse battery' }]) {
        expect(failure(await rest.post('/api/auth/register', { body, headers: from() }))).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
      }

      const wrong = await rest.post('/api/auth/login', { body: { email: address, password: 'wrong password!' }, headers: from() });
      const unknown = await rest.post('/api/auth/login', { body: { email: email(), password: 'wrong password!' }, headers: from() });
      expect(failure(wrong)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
      expect(unknown.body).toEqual(wrong.body);
      for (let i = 1; i < LOGIN_MAX_FAILURES_PER_ACCOUNT; i++) await rest.post('/api/auth/login', { body: { email: address, password: 'wrong password!' }, headers: from() });
      const locked = await rest.post('/api/auth/login', { body: { email: address, password: 'correct horse battery' }, headers: from() });
      expect(failure(locked)).toEqual({ status: 429, code: 'RATE_LIMITED' });
      const retryAfter = (locked.body as ErrorBody).error.retryAfterSeconds;
      expect(retryAfter).toBeGreaterThan(0);
      expect(Number(locked.headers['retry-after'])).toBe(Math.ceil(retryAfter ?? 0));
    });
  });

  it('serves its OpenAPI document', async () => {
    const response = await rest.get('/api/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ openapi: '3.1.0', paths: { '/api/notebooks/{id}': { get: expect.any(Object), put: expect.any(Object), delete: expect.any(Object) } } });
  });
});
