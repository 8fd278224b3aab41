import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NO_STREAM, JetStreamEventStore, type StreamPosition } from '@notebooks/event-store';
import { aggregateSubject } from '@notebooks/contracts';
import { randomUUID } from 'node:crypto';
import { measure, round, type Measurement } from '../measure';
import type { BenchContext, ScenarioResult } from '../scenario';

/**
 * JetStreamEventStore.append (envelope, expected-position check) next to a raw acked
 * `js.publish` of a payload of the same size, at the same concurrency, on the same server.
 */
export async function eventStoreAppend(context: BenchContext): Promise<ScenarioResult> {
  const connection = await connect({ servers: context.natsUrl, name: 'bench' });
  const namespace = `bench${randomUUID().slice(0, 8)}`;
  const store = await JetStreamEventStore.create(connection, { namespace });
  const js = jetstream(connection);
  const event = { type: 'cell.updated', data: { cellId: randomUUID(), value: 'x = '.padEnd(200, '1') } };
  const rows: Record<string, string | number>[] = [];
  const figures: Record<string, { store: Measurement; raw: Measurement; ratio: number }> = {};

  try {
    for (const concurrency of context.concurrencies) {
      const workers = Array.from({ length: concurrency }, () => ({
        ref: { category: 'notebooks' as const, id: randomUUID() },
        position: NO_STREAM as StreamPosition,
      }));
      const sample = await store.append({ category: 'notebooks', id: randomUUID() }, { events: [event], actorId: 'bench' }, NO_STREAM);
      const payload = new TextEncoder().encode(JSON.stringify({ commitId: randomUUID(), streamId: sample.ref.id, events: sample.events }));

      const storeRun = await measure(concurrency, context.limits, async (index) => {
        const worker = workers[index];
        if (!worker) return;
        const result = await store.append(worker.ref, { events: [event], actorId: 'bench' }, worker.position);
        worker.position = { sequence: result.sequence, version: result.version };
      });
      const rawRun = await measure(concurrency, context.limits, (worker) =>
        js.publish(aggregateSubject(namespace, { category: 'notebooks', id: `raw${worker}` }), payload),
      );
      const ratio = round(storeRun.perSecond / rawRun.perSecond);
      figures[`c${concurrency}`] = { store: storeRun, raw: rawRun, ratio };
      rows.push({
        concurrency,
        'append/s': storeRun.perSecond,
        'raw publish/s': rawRun.perSecond,
        ratio,
        'append p50/p99 ms': `${storeRun.p50Ms} / ${storeRun.p99Ms}`,
        'raw p50/p99 ms': `${rawRun.p50Ms} / ${rawRun.p99Ms}`,
      });
    }
  } finally {
    await connection.close();
  }
  return {
    title: `Event store append vs raw JetStream publish (${JSON.stringify(event).length}-byte event)`,
    rows,
    figures,
  };
}
