import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { errorCode } from '../../test/graphql-client';
import { NotebooksClient, OUTPUT_FIELDS, type OutputView, type TestUser } from '../../test/notebooks-client';

const DEADLINE_MS = 1_500;
const OUTPUT = `output { ${OUTPUT_FIELDS} }`;
const CELL = `id name ${OUTPUT}`;

interface CellView {
  id: string;
  name: string | null;
  output: OutputView | null;
}
interface Report {
  notebookId: string;
  notebookVersion: number;
  durationMs: number;
  cells: CellView[];
}

describe('execution-service: notebooks run in sandboxes, reactively', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let api: NotebooksClient;
  let ada: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['auth-service', 'notebook-service', 'projection-service', 'execution-service', 'gateway'], infra.serviceEnv(), {
      'auth-service': { REGISTER_MAX_PER_ADDRESS: '1000' },
      'execution-service': {
        EXECUTION_DEADLINE_MS: String(DEADLINE_MS),
        EXECUTION_GENERATOR_BUDGET_MS: '300',
        EXECUTION_WORKERS: '2',
        EXECUTION_WORKER_MEMORY_MB: '384',
        EXECUTION_RUNS_PER_USER: '2',
      },
    });
    api = new NotebooksClient(services.url('gateway'));
    [ada, bob] = await Promise.all([api.register('Ada'), api.register('Bob')]);
  });

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  /** A notebook of `sources` (JS unless prefixed `md:` or `html:`), owned by `owner`. */
  async function notebookOf(owner: TestUser, sources: string[]): Promise<{ id: string; cells: string[]; version: number }> {
    const created = await api.createNotebook(owner, { title: 'Run me' });
    const cells: string[] = [];
    let version = created.version;
    for (const source of sources) {
      const [kind, value] = source.startsWith('md:') ? ['MARKDOWN', source.slice(3)] : source.startsWith('html:') ? ['HTML', source.slice(5)] : ['JS', source];
      const change = await api.addCell(owner, created.notebookId, { kind, value });
      cells.push(change.cellId as string);
      version = change.version;
    }
    return { id: created.notebookId, cells, version };
  }

  async function runNotebook(as: TestUser, id: string) {
    return api.run<{ runNotebook: Report }>(as, `mutation($id: ID!) { runNotebook(id: $id) { notebookId notebookVersion durationMs cells { ${CELL} } } }`, { id });
  }

  async function run(as: TestUser, id: string): Promise<Report> {
    const response = await runNotebook(as, id);
    if (!response.data?.runNotebook) throw new Error(`runNotebook failed: ${JSON.stringify(response.errors)}`);
    return response.data.runNotebook;
  }

  const outputs = (report: Report): OutputView[] => report.cells.map((cell) => cell.output as OutputView);

  async function cellsOf(as: TestUser, id: string): Promise<CellView[]> {
    const response = await api.run<{ notebook: { cells: CellView[] } | null }>(as, `query($id: ID!) { notebook(id: $id) { cells { ${CELL} } } }`, { id });
    return response.data?.notebook?.cells ?? [];
  }

  /** Polls the notebook's cells until `done` holds (reactive runs have no reply to wait on). */
  async function eventually(as: TestUser, id: string, done: (cells: CellView[]) => boolean, timeoutMs = 10_000): Promise<CellView[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const cells = await cellsOf(as, id);
      if (done(cells)) return cells;
      if (Date.now() > until) throw new Error(`not settled in time: ${JSON.stringify(cells)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('runs a chain of named cells in dependency order: x = 21, y = x * 2 gives 42', async () => {
    const notebook = await notebookOf(ada, ['y = x * 2', 'x = 21']);
    const report = await run(ada, notebook.id);
    expect(report).toMatchObject({ notebookId: notebook.id, notebookVersion: notebook.version });
    expect(report.cells.map((cell) => cell.name)).toEqual(['y', 'x']);
    expect(outputs(report)).toEqual([
      expect.objectContaining({ status: 'OK', display: '42', value: 42, error: null, notebookVersion: notebook.version }),
      expect.objectContaining({ status: 'OK', display: '21', value: 21 }),
    ]);
    // The results are in the read model too, for everyone who reads the notebook.
    const cells = await eventually(ada, notebook.id, (found) => found.every((cell) => cell.output !== null));
    expect(cells.map((cell) => cell.output?.value)).toEqual([42, 21]);
  });

  it('re-runs a changed cell and its dependents without an explicit run', async () => {
    const notebook = await notebookOf(ada, ['x = 21', 'y = x * 2', 'z = "unrelated"']);
    // Adding cells already ran them reactively.
    await eventually(ada, notebook.id, (cells) => cells[1]?.output?.value === 42);
    const [x] = notebook.cells;
    await api.change(ada, 'updateCell(notebookId: $id, cellId: $cell, input: { value: "x = 5" })', '$id: ID!, $cell: ID!', { id: notebook.id, cell: x });
    const cells = await eventually(ada, notebook.id, (found) => found[1]?.output?.value === 10);
    expect(cells[0]?.output).toMatchObject({ status: 'OK', value: 5, notebookVersion: notebook.version + 1 });
    // z does not depend on x: it was not re-run for that edit.
    expect(cells[2]?.output?.notebookVersion).toBeLessThanOrEqual(notebook.version);
  });

  it('tells dependents when a cell they read is deleted, and recovers when it comes back', async () => {
    const notebook = await notebookOf(ada, ['a = 1', 'b = a + 1']);
    await eventually(ada, notebook.id, (cells) => cells[1]?.output?.value === 2);
    await api.change(ada, 'deleteCell(notebookId: $id, cellId: $cell)', '$id: ID!, $cell: ID!', { id: notebook.id, cell: notebook.cells[0] });
    const afterDelete = await eventually(ada, notebook.id, (cells) => cells[0]?.output?.status === 'ERROR');
    expect(afterDelete[0]?.output?.error).toBe('a is not defined');
    await api.addCell(ada, notebook.id, { value: 'a = 41' });
    await eventually(ada, notebook.id, (cells) => cells[0]?.output?.value === 42);
  });

  it('awaits promises and takes a generator’s last value (or its latest within the budget)', async () => {
    const notebook = await notebookOf(ada, [
      'slow = { await Promises.delay(50); return 6; }',
      'timer = new Promise((resolve) => setTimeout(() => resolve(slow * 7), 20))',
      'finite = { for (let i = 1; i <= 3; ++i) yield i * timer; }',
      'endless = { let i = 0; while (true) yield ++i; }',
      'next = endless > 0',
    ]);
    const [slow, timer, finite, endless, next] = outputs(await run(ada, notebook.id));
    expect(slow).toMatchObject({ status: 'OK', value: 6 });
    expect(slow?.durationMs).toBeGreaterThanOrEqual(45);
    expect(timer).toMatchObject({ status: 'OK', value: 42 });
    expect(finite).toMatchObject({ status: 'OK', value: 126 });
    expect(endless?.status).toBe('OK');
    expect(endless?.value).toEqual(expect.any(Number));
    expect(endless?.value as number).toBeGreaterThan(1);
    expect(next).toMatchObject({ status: 'OK', value: true });
  });

  it('renders markdown and HTML cells with interpolations resolved, sanitized', async () => {
    const notebook = await notebookOf(ada, [
      'name = "world"',
      'md:# Hello ${name}\n\nThere are **${items.length}** items <script>alert(1)</script>',
      'items = ["a", "b", "c"]',
      'html:<b onclick="steal()">${name.toUpperCase()}</b><iframe src="https://example.com"></iframe>',
      'md`*${name}* from a JS cell`',
    ]);
    const [, markdown, , html, tagged] = outputs(await run(ada, notebook.id));
    expect(markdown?.status).toBe('OK');
    expect(markdown?.html).toContain('<h1>Hello world</h1>');
    expect(markdown?.html).toContain('<strong>3</strong>');
    expect(markdown?.html).not.toContain('script');
    expect(html?.html).toBe('<b>WORLD</b>');
    expect(tagged?.html).toContain('<em>world</em> from a JS cell');
  });

  it('names the cause of every error kind and propagates it to dependents', async () => {
    const notebook = await notebookOf(ada, [
      'missing = nowhere + 1',
      'p = q',
      'q = p',
      'twice = 1',
      'twice = 2',
      'thrower = { throw new TypeError("boom"); }',
      'dependent = thrower * 2',
      'broken = (1 +',
      'caught = [].x.y',
    ]);
    const [missing, p, q, twice1, twice2, thrower, dependent, broken, caught] = outputs(await run(ada, notebook.id));
    expect(missing).toMatchObject({ status: 'ERROR', error: 'nowhere is not defined' });
    expect(p).toMatchObject({ status: 'ERROR', error: 'circular definition' });
    expect(q).toMatchObject({ status: 'ERROR', error: 'circular definition' });
    expect(twice1).toMatchObject({ status: 'ERROR', error: 'twice is defined more than once' });
    expect(twice2).toMatchObject({ status: 'ERROR', error: 'twice is defined more than once' });
    expect(thrower).toMatchObject({ status: 'ERROR', error: 'TypeError: boom' });
    // The runtime passes an input's failure on as a RuntimeError with the same message.
    expect(dependent).toMatchObject({ status: 'ERROR', error: 'boom' });
    expect(broken?.status).toBe('ERROR');
    expect(broken?.error).toMatch(/^SyntaxError: /);
    expect(caught?.status).toBe('ERROR');
    expect(caught?.error).toMatch(/^TypeError: /);
  });

  it('runs one cell with what it needs and re-runs its dependents', async () => {
    const notebook = await notebookOf(ada, ['base = 2', 'square = base * base', 'cube = square * base', 'other = 1']);
    const response = await api.run<{ runCell: CellView }>(ada, `mutation($id: ID!, $cell: ID!) { runCell(notebookId: $id, cellId: $cell) { ${CELL} } }`, {
      id: notebook.id,
      cell: notebook.cells[1],
    });
    expect(response.data?.runCell).toMatchObject({ id: notebook.cells[1], name: 'square', output: { status: 'OK', value: 4 } });
    const cells = await eventually(ada, notebook.id, (found) => found[2]?.output?.value === 8);
    expect(cells[2]?.output?.notebookVersion).toBe(notebook.version);
  });

  it('lets only editors run: viewers are FORBIDDEN, strangers get NOT_FOUND, bad ids BAD_USER_INPUT', async () => {
    const notebook = await notebookOf(ada, ['x = 1']);
    expect(errorCode(await runNotebook(bob, notebook.id))).toBe('NOT_FOUND');
    expect(errorCode(await runNotebook(bob, '00000000-0000-4000-8000-000000000000'))).toBe('NOT_FOUND');
    await api.share(ada, notebook.id, bob.email, 'VIEWER');
    expect(errorCode(await runNotebook(bob, notebook.id))).toBe('FORBIDDEN');
    expect(errorCode(await runNotebook(ada, 'not-an-id'))).toBe('BAD_USER_INPUT');
    expect(errorCode(await api.run(null, 'mutation($id: ID!) { runNotebook(id: $id) { notebookId } }', { id: notebook.id }))).toBe('UNAUTHENTICATED');
    const unknownCell = await api.run(ada, 'mutation($id: ID!, $cell: ID!) { runCell(notebookId: $id, cellId: $cell) { id } }', {
      id: notebook.id,
      cell: '00000000-0000-4000-8000-000000000000',
    });
    expect(errorCode(unknownCell)).toBe('NOT_FOUND');
  });

  it('limits how many runs one user has in progress', async () => {
    const notebook = await notebookOf(bob, ['{ await Promises.delay(600); return 1; }']);
    const answers = await Promise.all([1, 2, 3, 4].map(() => runNotebook(bob, notebook.id)));
    const codes = answers.map((answer) => errorCode(answer) ?? 'OK');
    expect(codes.filter((code) => code === 'OK').length).toBeGreaterThanOrEqual(1);
    expect(codes.filter((code) => code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(1);
    expect(codes.every((code) => code === 'OK' || code === 'RATE_LIMITED')).toBe(true);
  });

  describe('a hostile corpus', () => {
    const corpus: Record<string, string> = {
      'an infinite loop': '{ while (true) {} }',
      'a loop that swallows interrupts': '{ for (;;) { try { while (true) {} } catch (e) {} } }',
      'a microtask flood': '{ while (true) await null; }',
      'a promise that never settles': 'new Promise(() => {})',
      'a memory bomb of arrays': '{ const keep = []; while (true) keep.push(new Array(1e6).fill(1)); }',
      'a memory bomb of strings': '{ let s = "x"; while (true) s += s; }',
      'deep recursion': '{ function down(n) { return down(n + 1) + 1; } return down(0); }',
      'a constructor.constructor escape': '{ const process = this.constructor.constructor("return process")(); return process.env; }',
      'a Function escape': '(() => {}).constructor("return process.mainModule.require(\'fs\')")()',
      'require': 'require("fs").readFileSync("/etc/passwd", "utf8")',
      'dynamic import': '{ return await import("fs"); }',
      'fetch': 'fetch("http://127.0.0.1:4222")',
      'a huge output': '"x".repeat(5e6)',
      'timers that never stop': '{ setInterval(() => { for (let i = 0; i < 1e5; ++i); }, 0); return await new Promise(() => {}); }',
    };

    it.each(Object.entries(corpus))('ends %s in ERROR or TIMEOUT within the deadline', async (_, source) => {
      const notebook = await notebookOf(ada, [source]);
      const startedAt = Date.now();
      const [hostile] = outputs(await run(ada, notebook.id));
      // Its own deadline, plus at most one reactive run of the same cell ahead of it in the queue.
      expect(Date.now() - startedAt).toBeLessThan(2 * DEADLINE_MS + 4_000);
      if (source.includes('repeat')) {
        // Not an error: bounded on the way out.
        expect(hostile?.status).toBe('OK');
        expect(hostile?.display?.length).toBeLessThanOrEqual(2_000);
        expect(hostile?.value).toBeNull();
      } else {
        expect(['ERROR', 'TIMEOUT']).toContain(hostile?.status);
        expect(hostile?.error).toEqual(expect.any(String));
        expect(hostile?.display ?? '').not.toMatch(/root:|PATH=|NATS|DATABASE/);
      }
    });

    it('leaves no trace for the next notebook (no prototype pollution across runs)', async () => {
      const polluter = await notebookOf(ada, ['{ Object.prototype.polluted = "yes"; Array.prototype.map = () => "hijacked"; return 1; }']);
      await run(ada, polluter.id);
      const clean = await notebookOf(bob, ['({}).polluted ?? "clean"', '[1, 2].map((n) => n * 2)']);
      const [probe, mapped] = outputs(await run(bob, clean.id));
      expect(probe).toMatchObject({ status: 'OK', value: 'clean' });
      expect(mapped).toMatchObject({ status: 'OK', value: [2, 4] });
    });

    it('keeps the platform healthy through all of it', async () => {
      const ready = await fetch(`${services.url('execution-service')}/health/ready`);
      expect(ready.status).toBe(200);
      const notebook = await notebookOf(ada, ['x = 21', 'y = x * 2']);
      expect(outputs(await run(ada, notebook.id)).map((output) => output.value)).toEqual([21, 42]);
    });
  });
});
