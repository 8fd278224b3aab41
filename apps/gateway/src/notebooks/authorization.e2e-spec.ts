import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { errorCode } from '../../test/graphql-client';
import { NotebooksClient, type TestUser } from '../../test/notebooks-client';

type Actor = 'OWNER' | 'EDITOR' | 'VIEWER' | 'STRANGER' | 'ANONYMOUS';
type Visibility = 'PRIVATE' | 'PUBLIC';
type Rule = 'read' | 'edit-content' | 'edit-settings' | 'share' | 'delete';

interface Fixture {
  notebookId: string;
  visibility: Visibility;
  cellIds: string[];
  version: number;
}

interface Action {
  name: string;
  rule: Rule;
  query?: boolean;
  operation: (f: Fixture, users: Record<string, TestUser>) => [string, Record<string, unknown>];
}

/** Each action as a GraphQL operation on a fresh notebook, and which rule of the matrix governs it. */
const ACTIONS: Action[] = [
  { name: 'notebook (query)', rule: 'read', query: true, operation: (f) => ['query($id: ID!) { result: notebook(id: $id) { id cells { id } collaborators { role } owner { id } } }', { id: f.notebookId }] },
  { name: 'history (query)', rule: 'read', query: true, operation: (f) => ['query($id: ID!) { result: notebook(id: $id) { history { version type actor { id } } } }', { id: f.notebookId }] },
  { name: 'snapshot (query)', rule: 'read', query: true, operation: (f) => ['query($id: ID!) { result: notebook(id: $id) { snapshot(version: 2) { title cells { value } } } }', { id: f.notebookId }] },
  { name: 'forkNotebook', rule: 'read', operation: (f) => ['mutation($id: ID!) { result: forkNotebook(id: $id) { version } }', { id: f.notebookId }] },
  { name: 'updateNotebook (title)', rule: 'edit-content', operation: (f) => ['mutation($id: ID!) { result: updateNotebook(id: $id, input: { title: "Renamed" }) { version } }', { id: f.notebookId }] },
  { name: 'addCell', rule: 'edit-content', operation: (f) => ['mutation($id: ID!) { result: addCell(notebookId: $id, input: { value: "z = 3" }) { version } }', { id: f.notebookId }] },
  { name: 'updateCell', rule: 'edit-content', operation: (f) => ['mutation($id: ID!, $cell: ID!) { result: updateCell(notebookId: $id, cellId: $cell, input: { value: "x = 9" }) { version } }', { id: f.notebookId, cell: f.cellIds[0] }] },
  { name: 'moveCell', rule: 'edit-content', operation: (f) => ['mutation($id: ID!, $cell: ID!) { result: moveCell(notebookId: $id, cellId: $cell, position: 1) { version } }', { id: f.notebookId, cell: f.cellIds[0] }] },
  { name: 'deleteCell', rule: 'edit-content', operation: (f) => ['mutation($id: ID!, $cell: ID!) { result: deleteCell(notebookId: $id, cellId: $cell) { version } }', { id: f.notebookId, cell: f.cellIds[0] }] },
  { name: 'restoreNotebook', rule: 'edit-content', operation: (f) => ['mutation($id: ID!) { result: restoreNotebook(id: $id, version: 1) { version } }', { id: f.notebookId }] },
  { name: 'updateNotebook (visibility)', rule: 'edit-settings', operation: (f) => ['mutation($id: ID!, $to: Visibility!) { result: updateNotebook(id: $id, input: { visibility: $to }) { version } }', { id: f.notebookId, to: f.visibility === 'PUBLIC' ? 'PRIVATE' : 'PUBLIC' }] },
  { name: 'shareNotebook', rule: 'share', operation: (f, users) => ['mutation($id: ID!, $email: String!) { result: shareNotebook(id: $id, email: $email, role: VIEWER) { version } }', { id: f.notebookId, email: users['OTHER']?.email }] },
  { name: 'unshareNotebook', rule: 'share', operation: (f, users) => ['mutation($id: ID!, $user: ID!) { result: unshareNotebook(id: $id, userId: $user) { version } }', { id: f.notebookId, user: users['VIEWER']?.id }] },
  { name: 'deleteNotebook', rule: 'delete', operation: (f) => ['mutation($id: ID!) { result: deleteNotebook(id: $id) }', { id: f.notebookId }] },
];

/**
 * What DESIGN.md's role matrix says the outcome is: 'ok', an error code, or null for a query that
 * answers null. A notebook the actor may not see is NOT_FOUND (never FORBIDDEN, which would tell it exists).
 */
function expected(actor: Actor, visibility: Visibility, action: Action): string | null {
  const role = actor === 'STRANGER' || actor === 'ANONYMOUS' ? null : actor;
  const readable = role !== null || visibility === 'PUBLIC';
  if (action.query) return readable ? 'ok' : null;
  if (actor === 'ANONYMOUS') return 'UNAUTHENTICATED';
  if (!readable) return 'NOT_FOUND';
  if (action.rule === 'read') return 'ok';
  if (action.rule === 'edit-content') return role === 'OWNER' || role === 'EDITOR' ? 'ok' : 'FORBIDDEN';
  return role === 'OWNER' ? 'ok' : 'FORBIDDEN';
}

describe('the role matrix, through the gateway', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let api: NotebooksClient;
  const users: Record<string, TestUser> = {};

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['auth-service', 'notebook-service', 'projection-service', 'gateway'], infra.serviceEnv(), {
      'auth-service': { REGISTER_MAX_PER_ADDRESS: '1000' },
      // Every case's fixture shares twice, all as the same owner.
      'notebook-service': { SHARE_LOOKUPS_PER_HOUR: '1000' },
    });
    api = new NotebooksClient(services.url('gateway'));
    for (const name of ['OWNER', 'EDITOR', 'VIEWER', 'STRANGER', 'OTHER']) users[name] = await api.register(name.toLowerCase());
  });

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  /** A notebook of OWNER's with two cells, shared with EDITOR and VIEWER. */
  const fixture = async (visibility: Visibility): Promise<Fixture> => {
    const owner = users['OWNER'] as TestUser;
    const { notebookId } = await api.createNotebook(owner, { title: 'Matrix', visibility });
    const a = await api.addCell(owner, notebookId, { value: 'x = 1' });
    const b = await api.addCell(owner, notebookId, { value: 'y = x' });
    await api.share(owner, notebookId, (users['EDITOR'] as TestUser).email, 'EDITOR');
    const last = await api.share(owner, notebookId, (users['VIEWER'] as TestUser).email, 'VIEWER');
    return { notebookId, visibility, cellIds: [a.cellId ?? '', b.cellId ?? ''], version: last.version };
  };

  const cases = (['PRIVATE', 'PUBLIC'] as const).flatMap((visibility) =>
    (['OWNER', 'EDITOR', 'VIEWER', 'STRANGER', 'ANONYMOUS'] as const).flatMap((actor) => ACTIONS.map((action) => ({ visibility, actor, action }))),
  );

  it.each(cases)('$visibility notebook, $actor: $action.name', async ({ visibility, actor, action }) => {
    const f = await fixture(visibility);
    const [operation, variables] = action.operation(f, users);
    const want = expected(actor, visibility, action);
    const response = await api.run<{ result: unknown }>(actor === 'ANONYMOUS' ? null : (users[actor] as TestUser), operation, variables);

    if (want === 'ok') {
      expect(response.errors).toBeUndefined();
      expect(response.data?.result).toBeTruthy();
    } else if (want === null) {
      expect(response.errors).toBeUndefined();
      expect(response.data?.result).toBeNull();
    } else {
      expect(errorCode(response)).toBe(want);
    }
    // Checked against the log itself: a refused action wrote nothing, an allowed mutation exactly one
    // commit (a fork's is the note on its source that it was forked).
    const owner = users['OWNER'] as TestUser;
    const wrote = want === 'ok' && !action.query;
    if (action.rule === 'delete' && wrote) return expect(await api.notebook(owner, f.notebookId)).toBeNull();
    const probe = await api.run(owner, 'mutation($id: ID!, $v: Int) { updateNotebook(id: $id, input: { description: "probe" }, expectedVersion: $v) { version } }', {
      id: f.notebookId,
      v: wrote ? f.version + 1 : f.version,
    });
    expect(probe.errors).toBeUndefined();
  });
});
