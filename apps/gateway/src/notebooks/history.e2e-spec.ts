import { eventDecoder, NOTEBOOK_SNAPSHOT_INTERVAL, type ReadModelTables } from '@notebooks/contracts';
import { JetStreamEventStore } from '@notebooks/event-store';
import { analyzeCell, evolve, initialState, type NotebookState } from '@notebooks/notebook-domain';
import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { errorCode } from '../../test/graphql-client';
import { NotebooksClient, type TestUser } from '../../test/notebooks-client';

interface HistoryEvent {
  version: number;
  type: string;
  occurredAt: string;
  actor: { id: string } | null;
  data: Record<string, unknown>;
}
interface Snapshot {
  version: number;
  title: string;
  description: string | null;
  at: string;
  cells: { id: string; kind: 'JS' | 'MARKDOWN' | 'HTML'; value: string; position: number; isClosed: boolean; name: string | null; references: string[] }[];
}

const HISTORY = `query($id: ID!, $after: Int, $first: Int) {
  notebook(id: $id) { version history(afterVersion: $after, first: $first) { version type occurredAt actor { id } data } }
}`;
const SNAPSHOT = `query($id: ID!, $v: Int!) {
  notebook(id: $id) { snapshot(version: $v) { version title description at cells { id kind value position isClosed name references } } }
}`;

describe('history and time travel through the gateway', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let store: JetStreamEventStore;
  let api: NotebooksClient;
  let ada: TestUser;
  let bob: TestUser;
  const decode = eventDecoder('notebooks');

  /** The log of a notebook folded to every version: what history and snapshots must agree with. */
  const foldLog = async (notebookId: string) => {
    const states: NotebookState[] = [];
    const events: { version: number; type: string; actorId: string | null; occurredAt: string; data: unknown }[] = [];
    let state = initialState();
    for await (const stored of store.read({ category: 'notebooks', id: notebookId })) {
      for (const envelope of stored.commit.events) {
        const event = decode(envelope);
        state = evolve(state, event);
        states[envelope.version] = state;
        events.push({ version: envelope.version, type: envelope.type, actorId: envelope.actorId, occurredAt: envelope.occurredAt, data: event.data });
      }
    }
    return { states, events };
  };

  const history = async (as: TestUser | null, id: string, after = 0, first = 1000) => {
    const response = await api.run<{ notebook: { version: number; history: HistoryEvent[] } | null }>(as, HISTORY, { id, after, first });
    if (response.errors) throw new Error(JSON.stringify(response.errors));
    return response.data?.notebook ?? null;
  };

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['auth-service', 'notebook-service', 'projection-service', 'gateway'], infra.serviceEnv(), {
      'auth-service': { REGISTER_MAX_PER_ADDRESS: '1000' },
    });
    store = await JetStreamEventStore.create(await infra.connectNats(), { namespace: infra.namespace });
    api = new NotebooksClient(services.url('gateway'));
    [ada, bob] = await Promise.all([api.register('Ada'), api.register('Bob')]);
  });

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  it('answers every past version exactly as a fold of the log, across stored snapshots, and history event for event', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Journey', description: 'start' });
    const cells: string[] = [];
    const steps = NOTEBOOK_SNAPSHOT_INTERVAL + 40;
    let version = 1;
    for (let step = 0; version < steps; step++) {
      const pick = cells[step % Math.max(cells.length, 1)];
      let change;
      if (cells.length < 3 || step % 5 === 0) {
        change = await api.addCell(ada, notebookId, { value: `v${step} = v${step - 1} + 1`, position: step % (cells.length + 1) });
        cells.push(change.cellId ?? '');
      } else if (step % 5 === 1) {
        change = await api.change(ada, 'updateCell(notebookId: $id, cellId: $cell, input: { value: $v, kind: MARKDOWN })', '$id: ID!, $cell: ID!, $v: String', { id: notebookId, cell: pick, v: `# step ${step}` });
      } else if (step % 5 === 2) {
        change = await api.change(ada, 'moveCell(notebookId: $id, cellId: $cell, position: 0)', '$id: ID!, $cell: ID!', { id: notebookId, cell: pick });
      } else if (step % 5 === 3 && step % 15 === 3) {
        change = await api.change(ada, 'deleteCell(notebookId: $id, cellId: $cell)', '$id: ID!, $cell: ID!', { id: notebookId, cell: pick });
        cells.splice(cells.indexOf(pick ?? ''), 1);
      } else if (step === 52) {
        change = await api.change(ada, 'restoreNotebook(id: $id, version: 10)', '$id: ID!', { id: notebookId });
        cells.splice(0, cells.length, ...change.notebook.cells.map((c) => c.id));
      } else {
        change = await api.change(ada, 'updateNotebook(id: $id, input: { title: $t })', '$id: ID!, $t: String', { id: notebookId, t: `Journey ${step}` });
      }
      version = change.version;
    }

    const { states, events } = await foldLog(notebookId);
    // Later versions are answered from a stored snapshot, earlier ones from the beginning.
    const snapshots = await infra.database<ReadModelTables>().selectFrom('read.notebook_snapshots').select('version').where('notebook_id', '=', notebookId).execute();
    expect(snapshots.map((s) => s.version)).toEqual([NOTEBOOK_SNAPSHOT_INTERVAL]);
    const pages = [await history(ada, notebookId, 0, 100), await history(ada, notebookId, 100, 1000)];
    const served = pages.flatMap((page) => page?.history ?? []);
    expect(served.map((e) => ({ version: e.version, type: e.type, actorId: e.actor?.id ?? null, occurredAt: new Date(e.occurredAt).getTime(), data: e.data }))).toEqual(
      events.map((e) => ({ ...e, occurredAt: new Date(e.occurredAt).getTime() })),
    );

    for (let v = 1; v <= version; v++) {
      const response = await api.run<{ notebook: { snapshot: Snapshot } }>(ada, SNAPSHOT, { id: notebookId, v });
      const snapshot = response.data?.notebook.snapshot;
      const state = states[v] as NotebookState;
      expect({ v, snapshot: snapshot && { ...snapshot, at: undefined } }).toEqual({
        v,
        snapshot: {
          version: v,
          title: state.title,
          description: state.description,
          at: undefined,
          cells: state.cells.map((cell, position) => ({ id: cell.cellId, kind: cell.kind, value: cell.value, position, isClosed: cell.isClosed, ...analyzeCell(cell.kind, cell.value) })),
        },
      });
      expect(new Date(snapshot?.at ?? 0).getTime()).toBe(new Date(events[v - 1]?.occurredAt ?? 0).getTime());
    }
  }, 120_000);

  it('answers UNAVAILABLE, not a wrong past, for a notebook whose history the read model lacks', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Older than history' });
    await api.addCell(ada, notebookId, { value: 'a = 1' });
    const last = await api.addCell(ada, notebookId, { value: 'b = 2' });
    // As for a notebook projected before the history table existed.
    await infra.database<ReadModelTables>().deleteFrom('read.notebook_events').where('notebook_id', '=', notebookId).where('version', '<=', 2).execute();
    expect(errorCode(await api.run(ada, SNAPSHOT, { id: notebookId, v: last.version }))).toBe('UNAVAILABLE');
    expect(errorCode(await api.run(ada, HISTORY, { id: notebookId }))).toBe('UNAVAILABLE');
    expect((await history(ada, notebookId, 2))?.history.map((e) => e.version)).toEqual([3]);
  });

  it('refuses versions outside the history, and shows nothing to those who may not see the notebook', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Private past' });
    await api.addCell(ada, notebookId, { value: 'secret = 1' });
    for (const v of [0, 3]) expect(errorCode(await api.run(ada, SNAPSHOT, { id: notebookId, v }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await api.run(ada, HISTORY, { id: notebookId, first: 1001 }))).toBe('BAD_USER_INPUT');
    expect(await history(bob, notebookId)).toBeNull();
    expect(await history(null, notebookId)).toBeNull();
    expect((await history(ada, notebookId, 1))?.history.map((e) => [e.version, e.type, e.data['value']])).toEqual([[2, 'cell.created', 'secret = 1']]);
  });

  it("records a fork in the source's history; who forked it, and the fork, only for those who may see the fork", async () => {
    const source = await api.createNotebook(ada, { title: 'Forkable', visibility: 'PUBLIC' });
    const fork = await api.change(bob, 'forkNotebook(id: $id)', '$id: ID!', { id: source.notebookId });
    const forked = async (as: TestUser | null) => (await history(as, source.notebookId, 0))?.history.at(-1);
    // Bob's fork is private: nobody else learns it exists, nor that Bob made it.
    for (const as of [ada, null]) expect(await forked(as)).toMatchObject({ type: 'notebook.forked', actor: null, data: { atVersion: 1 } });
    expect((await forked(ada))?.data).not.toHaveProperty('forkId');
    expect(await forked(bob)).toMatchObject({ actor: { id: bob.id }, data: { forkId: fork.notebookId, forkedBy: bob.id } });
    await api.change(bob, 'updateNotebook(id: $id, input: { visibility: PUBLIC })', '$id: ID!', { id: fork.notebookId });
    expect(await forked(ada)).toMatchObject({ actor: { id: bob.id }, data: { forkId: fork.notebookId } });

    // The fork's own history names its source only while the caller may see the source.
    await api.change(ada, 'updateNotebook(id: $id, input: { visibility: PRIVATE })', '$id: ID!', { id: source.notebookId });
    const created = (await history(null, fork.notebookId))?.history[0];
    expect(created).toMatchObject({ version: 1, type: 'notebook.created', data: { forkedFrom: { version: 1 } } });
    expect(created?.data['forkedFrom']).not.toHaveProperty('notebookId');
  });

  it("shows users' emails only to themselves and to the notebook's members", async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Shown', visibility: 'PUBLIC' });
    await api.share(ada, notebookId, bob.email, 'VIEWER');
    const query = 'query($id: ID!) { notebook(id: $id) { owner { email } collaborators { user { email } } history { actor { email } } } }';
    type Shown = { notebook: { owner: { email: string }; collaborators: { user: { email: string } }[]; history: { actor: { email: string } }[] } };
    const stranger = await api.register('Stranger');
    for (const [as, expected] of [[ada, [ada.email, bob.email]], [bob, [ada.email, bob.email]], [stranger, ['', '']], [null, ['', '']]] as const) {
      const notebook = (await api.run<Shown>(as, query, { id: notebookId })).data?.notebook;
      expect([notebook?.owner.email, notebook?.collaborators[0]?.user.email]).toEqual(expected);
      expect(notebook?.history[0]?.actor.email).toBe(expected[0]);
    }
  });

  it('counts activity per notebook, per contributor and per user, for the owner only', async () => {
    const [owner, editor, forker] = await Promise.all([api.register('Owner'), api.register('Editor'), api.register('Forker')]);
    const { notebookId } = await api.createNotebook(owner, { title: 'Busy', visibility: 'PUBLIC' });
    await api.share(owner, notebookId, editor.email, 'EDITOR');
    const { cellId } = await api.addCell(editor, notebookId, { value: 'a = 1' });
    await api.change(editor, 'updateCell(notebookId: $id, cellId: $cell, input: { value: "a = 2" })', '$id: ID!, $cell: ID!', { id: notebookId, cell: cellId });
    await api.change(forker, 'forkNotebook(id: $id)', '$id: ID!', { id: notebookId });
    const last = await api.addCell(owner, notebookId, { value: 'b = a' });

    const query = `query($id: ID!, $v: Int) { notebook(id: $id, minVersion: $v) { activity { edits forks lastActivityAt contributors { user { id } edits } } } }`;
    const seen = await api.run<{ notebook: { activity: { edits: number; forks: number; lastActivityAt: string; contributors: { user: { id: string }; edits: number }[] } } }>(owner, query, { id: notebookId, v: last.version });
    expect(seen.data?.notebook.activity).toEqual({
      edits: 4,
      forks: 1,
      lastActivityAt: expect.any(String),
      contributors: [
        { user: { id: editor.id }, edits: 2 },
        { user: { id: owner.id }, edits: 2 },
      ].sort((a, b) => b.edits - a.edits || a.user.id.localeCompare(b.user.id)),
    });
    expect((await api.run<{ notebook: { activity: unknown } }>(editor, query, { id: notebookId })).data?.notebook.activity).toBeNull();

    const mine = 'query { myActivity { edits notebooksCreated forks lastActivityAt } }';
    expect((await api.run(forker, mine)).data?.['myActivity']).toEqual({ edits: 0, notebooksCreated: 1, forks: 1, lastActivityAt: expect.any(String) });
    expect((await api.run(editor, mine)).data?.['myActivity']).toEqual({ edits: 2, notebooksCreated: 0, forks: 0, lastActivityAt: expect.any(String) });
    expect(errorCode(await api.run(null, mine))).toBe('UNAUTHENTICATED');
  });
});
