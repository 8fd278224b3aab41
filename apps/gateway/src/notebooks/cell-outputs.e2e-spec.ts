import type { ExecutionEvent } from '@notebooks/contracts';
import { JetStreamEventStore } from '@notebooks/event-store';
import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { NotebooksClient, OUTPUT_FIELDS, type OutputView, type TestUser } from '../../test/notebooks-client';

type CellsView = { notebook: { cells: { id: string; output: OutputView | null }[] } | null };

const CELLS = `query($id: ID!) { notebook(id: $id) { cells { id output { ${OUTPUT_FIELDS} } } } }`;

describe('cell outputs through the gateway', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let store: JetStreamEventStore;
  let api: NotebooksClient;
  let ada: TestUser;

  // Results are written straight to the log, as execution-service writes them.
  const record = (notebookId: string, ...events: ExecutionEvent[]) => store.append({ category: 'executions', id: notebookId }, { events, actorId: ada.id }, 'any');
  const cellsOf = async (as: TestUser | null, id: string) => (await api.run<CellsView>(as, CELLS, { id })).data?.notebook?.cells;
  const executionsOf = async (id: string) => {
    const response = await api.run<{ notebook: { activity: { executions: number } } }>(ada, 'query($id: ID!) { notebook(id: $id) { activity { executions } } }', { id });
    return response.data?.notebook.activity.executions;
  };
  /** What `read` answers once `done` holds for it, or at the deadline (results are projected asynchronously). */
  const eventually = async <T>(read: () => Promise<T>, done: (value: T) => boolean) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() > deadline) return value;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['auth-service', 'notebook-service', 'projection-service', 'gateway'], infra.serviceEnv());
    store = await JetStreamEventStore.create(await infra.connectNats(), { namespace: infra.namespace });
    api = new NotebooksClient(services.url('gateway'));
    ada = await api.register('Ada');
  });

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  it("answers each cell's latest projected output, null for a cell that has not run, in snapshots and in a fork", async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Outputs' });
    const x = await api.addCell(ada, notebookId, { value: 'x = 6 * 7' });
    const text = await api.addCell(ada, notebookId, { kind: 'MARKDOWN', value: '# Hi ${x}' });
    const idle = await api.addCell(ada, notebookId, { value: 'y = x + 1' });
    const version = idle.version;
    const executedAt = new Date(Date.UTC(2026, 10, 23, 9, 30, 0, 125)).toISOString();
    const run = { notebookVersion: version, html: null, durationMs: 12.5, executedAt };
    await record(
      notebookId,
      { type: 'cell.executed', data: { ...run, cellId: x.cellId ?? '', status: 'OK', display: '42', value: 42, error: null } },
      { type: 'cell.executed', data: { ...run, cellId: text.cellId ?? '', status: 'OK', display: null, value: null, html: '<h1>Hi 42</h1>', error: null } },
    );
    // A run of an older version finishing late: the newer output stays.
    await record(notebookId, { type: 'cell.failed', data: { ...run, notebookVersion: 1, cellId: x.cellId ?? '', status: 'TIMEOUT', display: null, value: null, error: 'timed out' } });

    expect(await eventually(() => executionsOf(notebookId), (executions) => executions === 3)).toBe(3);

    expect(await cellsOf(ada, notebookId)).toEqual([
      { id: x.cellId, output: { status: 'OK', display: '42', value: 42, html: null, error: null, durationMs: 12.5, notebookVersion: version, executedAt } },
      { id: text.cellId, output: { status: 'OK', display: null, value: null, html: '<h1>Hi 42</h1>', error: null, durationMs: 12.5, notebookVersion: version, executedAt } },
      { id: idle.cellId, output: null },
    ]);
    const snapshot = await api.run<{ notebook: { snapshot: { cells: { id: string; output: OutputView | null }[] } } }>(
      ada,
      `query($id: ID!, $v: Int!) { notebook(id: $id) { snapshot(version: $v) { cells { id output { status } } } } }`,
      { id: notebookId, v: version },
    );
    expect(snapshot.data?.notebook.snapshot.cells.map((cell) => cell.output)).toEqual([null, null, null]);

    const fork = await api.change(ada, 'forkNotebook(id: $id)', '$id: ID!', { id: notebookId });
    expect((await cellsOf(ada, fork.notebookId))?.map((cell) => cell.output)).toEqual([null, null, null]);
    const stranger = await api.register('Stranger');
    expect(await cellsOf(stranger, notebookId)).toBeUndefined();
  });

  it('counts no executions before a run, and answers a newer output once it is projected', async () => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Reruns' });
    const x = await api.addCell(ada, notebookId, { value: 'x = 1' });
    expect(await executionsOf(notebookId)).toBe(0);

    const result = (value: number, notebookVersion: number): ExecutionEvent => ({
      type: 'cell.executed',
      data: { cellId: x.cellId ?? '', notebookVersion, status: 'OK', display: String(value), value, html: null, error: null, durationMs: 1, executedAt: new Date().toISOString() },
    });
    await record(notebookId, result(1, x.version));
    const first = await eventually(() => cellsOf(ada, notebookId), (cells) => cells?.[0]?.output?.value === 1);
    expect(first?.[0]?.output).toMatchObject({ value: 1, notebookVersion: x.version });
    const edit = await api.change(ada, 'updateCell(notebookId: $id, cellId: $cell, input: { value: "x = 2" })', '$id: ID!, $cell: ID!', { id: notebookId, cell: x.cellId });
    await record(notebookId, result(2, edit.version));
    const second = await eventually(() => cellsOf(ada, notebookId), (cells) => cells?.[0]?.output?.value === 2);
    expect(second?.[0]?.output).toMatchObject({ value: 2, notebookVersion: edit.version });
    expect(await executionsOf(notebookId)).toBe(2);
  });
});
