// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../observablehq-runtime.d.ts" />
import { Runtime } from '@observablehq/runtime';
import { measure, round } from '../measure';
import { startPlatform } from '../platform';
import type { BenchContext, ScenarioResult } from '../scenario';

const CHAIN = 100;

/**
 * A 100-cell dependency chain (`c0 = 1`, `c1 = c0 + 1`, …) run with `runNotebook` through the
 * gateway — sandboxed in a QuickJS worker, results recorded on the log — next to the same cells run
 * by the Observable runtime directly in Node (no sandbox, no log). Also: the per-cell overhead, and
 * the sandbox workers' start-up time as execution-service measured it (its /metrics).
 */
export async function execution(context: BenchContext): Promise<ScenarioResult> {
  const platform = await startPlatform(context, ['execution-service']);
  try {
    const { created } = await platform.graphql<{ created: { notebookId: string } }>('mutation { created: createNotebook(input: { title: "chain" }) { notebookId } }');
    const notebookId = created.notebookId;
    for (let i = 0; i < CHAIN; i++) {
      await platform.graphql('mutation($id: ID!, $value: String!) { addCell(notebookId: $id, input: { value: $value }) { version } }', { id: notebookId, value: source(i) });
    }

    const serviceSide: number[] = [];
    const run = async () => {
      const { runNotebook } = await platform.graphql<{ runNotebook: { durationMs: number; cells: { output: { value: unknown } }[] } }>(
        'mutation($id: ID!) { runNotebook(id: $id) { durationMs cells { output { value } } } }',
        { id: notebookId },
      );
      if (runNotebook.cells.at(-1)?.output.value !== CHAIN) throw new Error('the chain did not compute');
      serviceSide.push(runNotebook.durationMs);
    };
    await run();
    serviceSide.length = 0;
    const sandboxed = await measure(1, { seconds: context.limits.seconds, maxOperations: 200 }, run);
    const direct = await measure(1, { seconds: context.limits.seconds, maxOperations: 2_000 }, runDirectly);
    serviceSide.sort((a, b) => a - b);
    const serviceP50 = round(serviceSide[Math.floor(serviceSide.length / 2)] ?? 0);
    const workerStartMs = await workerStartup(platform.services.url('execution-service'));
    const perCellMs = round((sandboxed.p50Ms - direct.p50Ms) / CHAIN, 3);
    return {
      title: `cell execution: a ${CHAIN}-cell dependency chain`,
      rows: [
        { scenario: 'runNotebook via the gateway (sandboxed, recorded)', p50Ms: sandboxed.p50Ms, p95Ms: sandboxed.p95Ms, runs: sandboxed.operations },
        { scenario: '  of which execution-service (sandbox + log)', p50Ms: serviceP50, p95Ms: '', runs: serviceSide.length },
        { scenario: 'Observable runtime directly in Node (reference)', p50Ms: direct.p50Ms, p95Ms: direct.p95Ms, runs: direct.operations },
        { scenario: 'overhead per cell', p50Ms: perCellMs, p95Ms: '', runs: '' },
        { scenario: 'sandbox worker start-up (mean)', p50Ms: workerStartMs, p95Ms: '', runs: '' },
      ],
      figures: { cells: CHAIN, sandboxed, direct, serviceP50Ms: serviceP50, perCellOverheadMs: perCellMs, workerStartMs },
    };
  } finally {
    await platform.stop();
  }
}

function source(i: number): string {
  return i === 0 ? 'c0 = 1' : `c${i} = c${i - 1} + 1`;
}

/** The same chain, defined and observed with the Observable runtime in this process. */
async function runDirectly(): Promise<void> {
  const runtime = new Runtime();
  const main = runtime.module();
  let last: unknown;
  const settled = new Promise<void>((resolve, reject) => {
    for (let i = 0; i < CHAIN; i++) {
      const observer = i === CHAIN - 1 ? { fulfilled: (value: unknown) => ((last = value), resolve()), rejected: reject } : {};
      main.variable(observer).define(`c${i}`, i === 0 ? [] : [`c${i - 1}`], i === 0 ? () => 1 : (previous: number) => previous + 1);
    }
  });
  await settled;
  runtime.dispose();
  if (last !== CHAIN) throw new Error('the chain did not compute');
}

/** Mean start-up of the service's sandbox workers, from its Prometheus histogram. */
async function workerStartup(service: string): Promise<number> {
  const text = await (await fetch(`${service}/metrics`)).text();
  const figure = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1] ?? NaN);
  return round((figure('sandbox_worker_start_seconds_sum') / figure('sandbox_worker_start_seconds_count')) * 1000);
}
