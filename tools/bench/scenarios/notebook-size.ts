import { connect } from '@nats-io/transport-node';
import { defaultEventRegistry, type DomainEvent } from '@notebooks/contracts';
import { JetStreamEventStore, NO_STREAM, type StreamPosition } from '@notebooks/event-store';
import { freePort } from '@notebooks/testing';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure, round, type Measurement } from '../measure';
import { startPlatform } from '../platform';
import type { BenchContext, ScenarioResult } from '../scenario';

const SIZES = [10, 100, 1_000];
const CELLS_PER_COMMIT = 100;
const VALUE = 'x = '.padEnd(200, '1');

/**
 * Latency of one cell edit (`updateCell` through the gateway, one at a time) on notebooks of 10,
 * 100 and 1,000 cells, each beside the 10-cell figure; and, when Jupyter Server is installed, saving
 * the same notebook through its contents API (PUT of the whole notebook JSON) beside that. The
 * notebooks are written straight to the log, owned by the bench's user.
 */
export async function notebookSize(context: BenchContext): Promise<ScenarioResult> {
  const platform = await startPlatform(context);
  const connection = await connect({ servers: context.natsUrl, name: 'bench-notebook-size' });
  const jupyter = await startJupyter();
  const limits = { seconds: context.limits.seconds, maxOperations: Math.min(context.limits.maxOperations, 2_000) };
  try {
    const store = await JetStreamEventStore.create(connection, { namespace: platform.namespace });
    const rows: Record<string, string | number>[] = [];
    const figures: Record<string, { updateCell: Measurement; jupyterSave?: Measurement; ratio: number }> = {};
    let base: Measurement | undefined;
    for (const cells of SIZES) {
      const { notebookId, cellId } = await writeNotebook(store, platform.user.id, cells);
      const edit = () => platform.updateCell(notebookId, cellId, VALUE);
      for (let i = 0; i < 20; i++) await edit(); // warm up
      const edits = await measure(1, limits, edit);
      base ??= edits;
      const ratio = round(edits.p50Ms / base.p50Ms);
      const jupyterSave = jupyter ? await jupyter.measureSave(cells, limits) : undefined;
      figures[`cells${cells}`] = { updateCell: edits, jupyterSave, ratio };
      rows.push({
        cells,
        'updateCell p50 ms': edits.p50Ms,
        'updateCell p95 ms': edits.p95Ms,
        'updateCell p99 ms': edits.p99Ms,
        [`p50 vs ${SIZES[0]} cells`]: ratio,
        'Jupyter save p50 / p95 ms': jupyterSave ? `${jupyterSave.p50Ms} / ${jupyterSave.p95Ms}` : 'n/a',
      });
    }
    if (!jupyter) rows.push({ cells: '-', 'Jupyter save p50 / p95 ms': 'jupyter server is not installed (Debian: python3-jupyter-server): not measured' });
    return { title: `one cell edit through the gateway by notebook size${jupyter ? ', vs saving the notebook in Jupyter Server' : ''}`, rows, figures };
  } finally {
    await jupyter?.stop();
    await connection.close();
    await platform.stop();
  }
}

/** A notebook of `cells` cells, created in commits of CELLS_PER_COMMIT cells; answers one of its cells. */
async function writeNotebook(store: JetStreamEventStore, ownerId: string, cells: number): Promise<{ notebookId: string; cellId: string }> {
  const ref = { category: 'notebooks' as const, id: randomUUID() };
  const schemaVersions = defaultEventRegistry().writeVersions();
  const created: DomainEvent = { type: 'notebook.created', data: { ownerId, title: `${cells} cells`, description: null, visibility: 'PRIVATE', forkedFrom: null } };
  let position: StreamPosition = NO_STREAM;
  let cellId = '';
  const append = async (events: DomainEvent[]) => {
    const result = await store.append(ref, { events, schemaVersions, actorId: ownerId }, position);
    position = { sequence: result.sequence, version: result.version };
  };
  await append([created]);
  for (let start = 0; start < cells; start += CELLS_PER_COMMIT) {
    const events: DomainEvent[] = [];
    for (let i = start; i < Math.min(cells, start + CELLS_PER_COMMIT); i++) {
      cellId = randomUUID();
      events.push({ type: 'cell.created', data: { cellId, kind: 'JS', value: `c${i} = ${VALUE}`, position: i, isClosed: false } });
    }
    await append(events);
  }
  return { notebookId: ref.id, cellId };
}

interface Jupyter {
  measureSave(cells: number, limits: { seconds: number; maxOperations: number }): Promise<Measurement>;
  stop(): Promise<void>;
}

/** Jupyter Server on loopback with a token, in a temporary root, if it is installed. */
async function startJupyter(): Promise<Jupyter | undefined> {
  if (spawnSync('jupyter', ['server', '--version'], { stdio: 'ignore' }).status !== 0) return undefined;
  const root = mkdtempSync(join(tmpdir(), 'bench-jupyter-'));
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const child = spawn('jupyter', ['server', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, `--ServerApp.token=${token}`, `--ServerApp.root_dir=${root}`], { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(root, { recursive: true, force: true });
  };
  const base = `http://127.0.0.1:${port}`;
  const headers = { authorization: `token ${token}`, 'content-type': 'application/json' };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${base}/api/status`, { headers, signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    stop,
    async measureSave(cells, limits) {
      const notebook = {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: Array.from({ length: cells }, (_, i) => ({ id: `c${i}`, cell_type: 'code', source: `c${i} = ${VALUE}`, metadata: {}, outputs: [], execution_count: null })),
      };
      const save = async () => {
        const response = await fetch(`${base}/api/contents/bench-${cells}.ipynb`, {
          method: 'PUT',
          headers,
          body: JSON.stringify({ type: 'notebook', format: 'json', content: notebook }),
          signal: AbortSignal.timeout(30_000),
        });
        if (!response.ok) throw new Error(`Jupyter save answered ${response.status}`);
        await response.arrayBuffer();
      };
      for (let i = 0; i < 3; i++) await save();
      return measure(1, limits, async () => {
        const cell = notebook.cells[notebook.cells.length - 1];
        if (cell) cell.source = `${VALUE} ${Math.random()}`; // one cell edited, the whole notebook sent
        await save();
      });
    },
  };
}
