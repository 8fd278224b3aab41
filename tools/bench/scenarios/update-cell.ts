import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { aggregateSubject, streamName } from '@notebooks/contracts';
import { measure, round, type Measurement } from '../measure';
import { startPlatform } from '../platform';
import type { BenchContext, ScenarioResult } from '../scenario';

const VALUE = 'x = '.padEnd(200, '1');

/**
 * `updateCell` through the gateway (auth, validation, NATS request to notebook-service, read, decide,
 * append, answer `{ version cellId }`), one notebook per worker, next to a raw acked JetStream publish
 * of a message the size of the commit it stored, into a stream with the same storage settings, at
 * the same concurrency.
 */
export async function updateCell(context: BenchContext): Promise<ScenarioResult> {
  const platform = await startPlatform(context);
  const connection = await connect({ servers: context.natsUrl, name: 'bench-update-cell' });
  try {
    const notebooks = await platform.createNotebooks(Math.max(...context.concurrencies));
    const first = notebooks[0];
    if (!first) throw new Error('no concurrency given');
    for (let i = 0; i < 20; i++) await platform.updateCell(first.notebookId, first.cellId, VALUE); // warm up

    const jsm = await jetstreamManager(connection);
    const notebooksStream = streamName(platform.namespace, 'notebooks');
    const stored = await jsm.streams.getMessage(notebooksStream, { last_by_subj: aggregateSubject(platform.namespace, { category: 'notebooks', id: first.notebookId }) });
    if (!stored) throw new Error('the edit was not stored');
    const payload = stored.data.slice();
    const { config } = await jsm.streams.info(notebooksStream);
    const rawSubject = `${platform.namespace}.benchraw`;
    await jsm.streams.add({
      name: `${platform.namespace}_BENCH_RAW`,
      subjects: [`${rawSubject}.>`],
      storage: config.storage,
      retention: config.retention,
      num_replicas: config.num_replicas,
      duplicate_window: config.duplicate_window,
    });
    const js = jetstream(connection);

    const rows: Record<string, string | number>[] = [];
    const figures: Record<string, { updateCell: Measurement; raw: Measurement; ratio: number }> = {};
    for (const concurrency of context.concurrencies) {
      const edits = await measure(concurrency, context.limits, async (worker) => {
        const notebook = notebooks[worker];
        if (notebook) await platform.updateCell(notebook.notebookId, notebook.cellId, VALUE);
      });
      const raw = await measure(concurrency, context.limits, (worker) => js.publish(`${rawSubject}.w${worker}`, payload));
      const ratio = round(edits.perSecond / raw.perSecond);
      figures[`c${concurrency}`] = { updateCell: edits, raw, ratio };
      rows.push({
        concurrency,
        'updateCell/s': edits.perSecond,
        'raw publish/s': raw.perSecond,
        ratio,
        'updateCell p50/p95/p99 ms': `${edits.p50Ms} / ${edits.p95Ms} / ${edits.p99Ms}`,
        'raw p50/p95/p99 ms': `${raw.p50Ms} / ${raw.p95Ms} / ${raw.p99Ms}`,
      });
    }
    return {
      title: `updateCell through the gateway (one notebook per worker) vs a raw acked JetStream publish of the ${payload.length}-byte commit it stored`,
      rows,
      figures: { commitBytes: payload.length, ...figures },
    };
  } finally {
    await connection.close();
    await platform.stop();
  }
}
