import { NOTEBOOK_VERSION_CHANNEL, parseNotebookVersionPayload } from '@notebooks/contracts';
import { Client } from 'pg';
import { round } from '../measure';
import { startPlatform } from '../platform';
import type { BenchContext, ScenarioResult } from '../scenario';

const PER_SECOND = 50;
const NOTEBOOKS = 16;
/** An edit the read model has not shown by then counts as missed. */
const WAIT_MS = 10_000;

/**
 * How long after `updateCell` is answered the read model has that version (projection-service's
 * NOTIFY on `read_notebook_versions`, heard by a LISTEN of our own), at a steady PER_SECOND edits
 * a second over NOTEBOOKS notebooks; beside it the edit's own latency.
 */
export async function readYourWrites(context: BenchContext): Promise<ScenarioResult> {
  const platform = await startPlatform(context);
  const listener = new Client({ connectionString: platform.databaseUrl, application_name: 'bench-read-your-writes' });
  try {
    const notebooks = (await platform.createNotebooks(NOTEBOOKS)).map((notebook) => ({ ...notebook, busy: false }));

    /** The newest version the read model announced per notebook, and when. */
    const announced = new Map<string, { version: number; at: number }>();
    const waiters = new Map<string, { version: number; resolve: (at: number) => void }[]>();
    listener.on('notification', (message) => {
      const reached = message.payload ? parseNotebookVersionPayload(message.payload) : null;
      if (!reached) return;
      const at = performance.now();
      announced.set(reached.notebookId, { version: reached.version, at });
      const pending = waiters.get(reached.notebookId) ?? [];
      waiters.set(reached.notebookId, pending.filter((w) => (w.version <= reached.version ? (w.resolve(at), false) : true)));
    });
    await listener.connect();
    await listener.query(`LISTEN ${NOTEBOOK_VERSION_CHANNEL}`);
    const visibleAt = (notebookId: string, version: number) => {
      const seen = announced.get(notebookId);
      if (seen && seen.version >= version) return Promise.resolve(seen.at);
      return new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), WAIT_MS);
        const list = waiters.get(notebookId) ?? [];
        list.push({ version, resolve: (at) => (clearTimeout(timer), resolve(at)) });
        waiters.set(notebookId, list);
      });
    };

    const seconds = Math.max(3, context.limits.seconds);
    const edits: Promise<void>[] = [];
    const editMs: number[] = [];
    const visibleAfterAckMs: number[] = [];
    let missed = 0;
    let skipped = 0;
    let alreadyVisible = 0;
    const started = performance.now();
    for (let i = 0; i < seconds * PER_SECOND; i++) {
      const due = started + (i * 1000) / PER_SECOND;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
      const notebook = notebooks[i % NOTEBOOKS];
      if (!notebook || notebook.busy) {
        skipped++;
        continue;
      }
      notebook.busy = true;
      edits.push(
        (async () => {
          const t0 = performance.now();
          const { version } = await platform.updateCell(notebook.notebookId, notebook.cellId, `x = ${i}`);
          const acked = performance.now();
          notebook.busy = false;
          editMs.push(acked - t0);
          const at = await visibleAt(notebook.notebookId, version);
          if (at === undefined) missed++;
          else if (at <= acked) alreadyVisible++;
          visibleAfterAckMs.push(at === undefined ? WAIT_MS : Math.max(0, at - acked));
        })(),
      );
    }
    await Promise.all(edits);
    const elapsed = (performance.now() - started) / 1000;
    const lag = percentiles(visibleAfterAckMs);
    const edit = percentiles(editMs);
    const figures = { perSecondTarget: PER_SECOND, perSecond: Math.round(editMs.length / elapsed), edits: editMs.length, skipped, missed, alreadyVisible, visibleAfterAck: lag, edit };
    return {
      title: `read-your-writes: read model has the version this long after updateCell is answered (${PER_SECOND} edits/s target over ${NOTEBOOKS} notebooks, LISTEN ${NOTEBOOK_VERSION_CHANNEL}), beside the edit's own latency`,
      rows: [
        {
          'edits/s': figures.perSecond,
          edits: editMs.length,
          'visible after ack p50 ms': lag.p50Ms,
          'visible after ack p95 ms': lag.p95Ms,
          'visible after ack p99 ms': lag.p99Ms,
          'already visible at ack': alreadyVisible,
          missed,
          'edit p50 ms': edit.p50Ms,
          'edit p99 ms': edit.p99Ms,
        },
      ],
      figures,
    };
  } finally {
    await listener.end().catch(() => undefined);
    await platform.stop();
  }
}

function percentiles(values: number[]): { p50Ms: number; p95Ms: number; p99Ms: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99) };
}
