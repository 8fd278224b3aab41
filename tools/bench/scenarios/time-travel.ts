import { connect } from '@nats-io/transport-node';
import { defaultEventRegistry, type DomainEvent } from '@notebooks/contracts';
import { JetStreamEventStore, NO_STREAM, type StreamPosition } from '@notebooks/event-store';
import { startServices } from '@notebooks/testing';
import { randomUUID } from 'node:crypto';
import { measure, round, type Measurement } from '../measure';
import type { BenchContext, ScenarioResult } from '../scenario';

const EVENTS = 10_000;
const CELLS = 20;

/**
 * `Notebook.snapshot(version)` on a notebook with 10,000 events, at random versions, next to
 * reading the same notebook as it is now (`cells`), through the gateway at the same concurrency.
 * The events are written straight to the log (one commit each) and projected by projection-service.
 */
export async function timeTravel(context: BenchContext): Promise<ScenarioResult> {
  const namespace = `bench${randomUUID().slice(0, 8)}`;
  const services = await startServices(['projection-service', 'gateway'], {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    NATS_URL: context.natsUrl,
    NATS_NAMESPACE: namespace,
    DATABASE_URL: context.databaseUrl,
  });
  const connection = await connect({ servers: context.natsUrl, name: 'bench-time-travel' });
  try {
    const store = await JetStreamEventStore.create(connection, { namespace });
    const notebookId = await writeLongHistory(store);
    const gateway = services.url('gateway');
    const query = async (body: string) => {
      const response = await fetch(`${gateway}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const json = (await response.json()) as { errors?: unknown };
      if (json.errors) throw new Error(JSON.stringify(json.errors));
    };
    const head = `{"query":"{ notebook(id: \\"${notebookId}\\", minVersion: ${EVENTS}) { version } }"}`;
    // Each wait is bounded by the gateway (UNAVAILABLE after 5 s); projecting 10,000 commits takes longer.
    const deadline = Date.now() + 180_000;
    for (;;) {
      try {
        await query(head);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }

    const rows: Record<string, string | number>[] = [];
    const figures: Record<string, { snapshot: Measurement; current: Measurement; ratio: number }> = {};
    for (const concurrency of context.concurrencies) {
      const snapshot = await measure(concurrency, context.limits, () => {
        const version = 1 + Math.floor(Math.random() * EVENTS);
        return query(`{"query":"{ notebook(id: \\"${notebookId}\\") { snapshot(version: ${version}) { version title cells { id value name } } } }"}`);
      });
      const current = await measure(concurrency, context.limits, () => query(`{"query":"{ notebook(id: \\"${notebookId}\\") { version title cells { id value name } } }"}`));
      const ratio = round(snapshot.p95Ms / current.p95Ms);
      figures[`c${concurrency}`] = { snapshot, current, ratio };
      rows.push({
        concurrency,
        'snapshot p50 ms': snapshot.p50Ms,
        'snapshot p95 ms': snapshot.p95Ms,
        'current p50 ms': current.p50Ms,
        'current p95 ms': current.p95Ms,
        'p95 snapshot/current': ratio,
        'snapshot req/s': snapshot.perSecond,
        'current req/s': current.perSecond,
      });
    }
    return { title: `Notebook.snapshot(version) on ${EVENTS} events vs the current notebook, through the gateway`, rows, figures };
  } finally {
    await connection.close();
    await services.stop();
  }
}

/** One notebook: created, then cells added and edited until it has EVENTS events. */
async function writeLongHistory(store: JetStreamEventStore): Promise<string> {
  const ref = { category: 'notebooks' as const, id: randomUUID() };
  const owner = randomUUID();
  const schemaVersions = defaultEventRegistry().writeVersions();
  const cellIds = Array.from({ length: CELLS }, () => randomUUID());
  let position: StreamPosition = NO_STREAM;
  for (let version = 1; version <= EVENTS; version++) {
    const cell = cellIds[version % CELLS] ?? '';
    const event: DomainEvent =
      version === 1
        ? { type: 'notebook.created', data: { ownerId: owner, title: 'Long history', description: null, visibility: 'PUBLIC', forkedFrom: null } }
        : version <= CELLS + 1
          ? { type: 'cell.created', data: { cellId: cellIds[version - 2], kind: 'JS', value: `c${version} = ${version}`, position: 0, isClosed: false } }
          : { type: 'cell.updated', data: { cellId: cell, changes: { value: `c${version % CELLS} = ${version} * 2` } } };
    const result = await store.append(ref, { events: [event], schemaVersions, actorId: owner }, position);
    position = { sequence: result.sequence, version: result.version };
  }
  return ref.id;
}
