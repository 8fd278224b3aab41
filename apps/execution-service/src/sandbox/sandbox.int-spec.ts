import { cellProgram } from '@notebooks/notebook-domain';
import type { CellKind } from '@notebooks/contracts';
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from './sandbox';
import { SandboxPool, SandboxPoolSaturated, type KillReason } from './worker-pool';

/** Cells by id; a JS cell `id: 'expression'` defines the name `id`. */
const cells = (sources: Record<string, string>, kind: CellKind = 'JS') =>
  Object.entries(sources).map(([id, source]) => ({ id, program: cellProgram(kind, kind === 'JS' ? `${id} = ${source}` : source) }));
const limits = (overrides: Partial<SandboxLimits> = {}): SandboxLimits => ({ ...DEFAULT_SANDBOX_LIMITS, deadlineMs: 1_000, ...overrides });

// The engine loads as an ES module, which jest's module system cannot: every run goes through real workers.
const kills: KillReason[] = [];
const pool = new SandboxPool({ size: 2, workerMemoryBytes: 300 * 2 ** 20, graceMs: 300, maxQueue: 1, onKill: (reason) => kills.push(reason) });

beforeAll(() => pool.start());
afterAll(() => pool.stop());

describe('a sandbox run', () => {
  it('shows values the way an inspector would, and gives their JSON when they have one', async () => {
    const results = await pool.run({
      cells: cells({
        text: '"hi"',
        list: '[1, "two", [3]]',
        map: 'new Map([["a", 1]])',
        set: 'new Set([1, 2])',
        object: '({ a: 1, nested: { b: [1, 2] } })',
        fn: 'function named(a) { return a; }',
        date: 'new Date(0)',
        nothing: 'undefined',
        big: '10n ** 20n',
        many: 'Array.from({ length: 50 }, (_, i) => i)',
      }),
      observe: ['text', 'list', 'map', 'set', 'object', 'fn', 'date', 'nothing', 'big', 'many'],
      limits: limits(),
    });
    const byId = Object.fromEntries(results.map((result) => [result.cellId, result]));
    expect(byId['text']).toMatchObject({ status: 'OK', display: '"hi"', value: 'hi' });
    expect(byId['list']).toMatchObject({ display: 'Array(3) [1, "two", Array(1) [3]]', value: [1, 'two', [3]] });
    expect(byId['map']).toMatchObject({ display: 'Map(1) {"a" => 1}' });
    expect(byId['set']).toMatchObject({ display: 'Set(2) {1, 2}' });
    expect(byId['object']).toMatchObject({ display: 'Object {a: 1, nested: Object {b: Array(2) […]}}', value: { a: 1, nested: { b: [1, 2] } } });
    expect(byId['fn']).toMatchObject({ display: 'ƒ named(…)', value: null });
    expect(byId['date']).toMatchObject({ display: '1970-01-01T00:00:00.000Z', value: '1970-01-01T00:00:00.000Z' });
    expect(byId['nothing']).toMatchObject({ display: 'undefined', value: null });
    expect(byId['big']).toMatchObject({ display: '100000000000000000000n', value: null });
    expect(byId['many']?.display).toMatch(/^Array\(50\) \[0, 1, .*, 19, …\]$/);
  });

  it('bounds what comes out: display text, JSON and HTML', async () => {
    const results = await pool.run({
      cells: [...cells({ long: '"y".repeat(100000)', wide: 'Array.from({ length: 10000 }, (_, i) => i)' }), ...cells({ page: '${"z".repeat(200000)}' }, 'MARKDOWN')],
      observe: ['long', 'wide', 'page'],
      limits: limits(),
    });
    const [long, wide, page] = results;
    expect(long?.display?.length).toBeLessThanOrEqual(DEFAULT_SANDBOX_LIMITS.displayMax);
    expect(long?.value).toBeNull();
    expect(wide?.value).toBeNull();
    expect(page?.html?.length).toBeLessThanOrEqual(DEFAULT_SANDBOX_LIMITS.htmlMax);
  });

  it('survives values and errors built to hurt whoever reads them', async () => {
    const results = await pool.run({
      cells: [
        ...cells({
          deep: '{ let v = 1; for (let i = 0; i < 2500; i++) v = [v]; return v; }',
          symbol: '{ throw Symbol("y".repeat(1e6)); }',
          keys: '{ throw [{ ["k".repeat(4e5)]: 1 }]; }',
          forever: '{ setTimeout(() => {}, Infinity); setTimeout(() => {}, NaN); return 1; }',
        }),
        ...cells({ links: `[a][r] `.repeat(5_000) + '\n\n[r]: https://example.com/' + 'u'.repeat(30_000), later: 'Soon: ${await Promises.delay(10, "now")}' }, 'MARKDOWN'),
      ],
      observe: ['deep', 'symbol', 'keys', 'forever', 'links', 'later'],
      limits: limits({ deadlineMs: 3_000 }),
    });
    const [deep, symbol, keys, forever, links, later] = results;
    expect(deep).toMatchObject({ status: 'OK', value: null });
    expect(symbol?.status).toBe('ERROR');
    expect(symbol?.error?.length).toBeLessThanOrEqual(DEFAULT_SANDBOX_LIMITS.displayMax);
    expect(keys?.error?.length).toBeLessThanOrEqual(DEFAULT_SANDBOX_LIMITS.displayMax);
    expect(forever).toMatchObject({ status: 'OK', value: 1 });
    expect(links?.status).toBe('OK');
    expect(links?.html?.length).toBeLessThanOrEqual(DEFAULT_SANDBOX_LIMITS.htmlMax);
    expect(later).toMatchObject({ status: 'OK', html: '<p>Soon: now</p>\n' });
  });

  it('computes only what the observed cells need', async () => {
    const results = await pool.run({
      cells: cells({ wanted: 'input * 2', input: '21', unrelated: '{ while (true) {} }' }),
      observe: ['wanted'],
      limits: limits(),
    });
    expect(results).toEqual([expect.objectContaining({ cellId: 'wanted', status: 'OK', value: 42 })]);
  });

  it('interrupts what is still running at the deadline; the worker retires and is replaced', async () => {
    const results = await pool.run({ cells: cells({ spin: '{ while (true) {} }' }), observe: ['spin'], limits: limits({ deadlineMs: 200 }) });
    expect(results[0]).toMatchObject({ status: 'TIMEOUT', error: 'the run exceeded its 200 ms deadline' });
    expect(kills).toEqual([]);
    expect(await workersBack()).toBe(2);
  });
});

const workersBack = async () => {
  const until = Date.now() + 5_000;
  while (pool.stats().workers < 2 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  return pool.stats().workers;
};

describe(SandboxPool.name, () => {
  it('runs notebooks in worker processes', async () => {
    const results = await pool.run({ cells: cells({ x: '21', y: 'x * 2' }), observe: ['y'], limits: limits() });
    expect(results).toEqual([expect.objectContaining({ cellId: 'y', status: 'OK', value: 42 })]);
  });

  it('kills a worker that overruns its deadline from outside, and replaces it', async () => {
    // A loop of large allocations is not interrupted by the engine: only the kill stops it.
    const bomb = '{ const keep = []; while (true) keep.push(new Array(2e5).fill(1)); }';
    const results = await pool.run({ cells: cells({ bomb }), observe: ['bomb'], limits: limits({ deadlineMs: 300 }) });
    expect(results[0]?.status).toMatch(/TIMEOUT|ERROR/);
    expect(kills.length).toBeGreaterThan(0);
    expect(await workersBack()).toBe(2);
  });

  it('kills a worker whose memory passes the cap', async () => {
    kills.length = 0;
    const bomb = '{ const keep = []; while (true) keep.push(new Array(1e6).fill(1)); }';
    const results = await pool.run({ cells: cells({ bomb }), observe: ['bomb'], limits: limits({ deadlineMs: 20_000 }) });
    expect(results[0]).toMatchObject({ status: 'ERROR', error: 'the run exceeded the memory limit of 300 MiB' });
    expect(kills).toEqual(['memory']);
    expect(await workersBack()).toBe(2);
  });

  it('refuses explicit runs beyond its queue, and queues background ones', async () => {
    await workersBack();
    const slow = { cells: cells({ wait: '{ await Promises.delay(300); return 1; }' }), observe: ['wait'], limits: limits() };
    const running = [pool.run(slow), pool.run(slow), pool.run(slow)];
    await expect(pool.run(slow)).rejects.toBeInstanceOf(SandboxPoolSaturated);
    const background = pool.run(slow, false);
    const all = await Promise.all([...running, background]);
    expect(all.map((results) => results[0]?.value)).toEqual([1, 1, 1, 1]);
  });
});
