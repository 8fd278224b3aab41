import { DynamicModule, Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { EventStore } from '@notebooks/event-store';
import { DATABASE, Metrics, NatsRpc, ReadinessChecks } from '@notebooks/platform';
import { sql, type Kysely } from 'kysely';
import { Gauge } from 'prom-client';
import { serveDeadLetterRetry } from './dead-letter-retry';
import { runProjection, type ProjectionDefinition, type RunningProjection } from './projector';

export interface ServiceProjectionsOptions<DB> {
  projections: readonly ProjectionDefinition<DB>[];
  store: EventStore;
  db: Kysely<DB>;
  readiness: ReadinessChecks;
  metrics: Metrics;
  rpc: NatsRpc;
}

/**
 * Everything a service does with its projections while it runs: consumes them, shows each one's
 * lag and dead letters in readiness, exports `projection_pending_commits`, `projection_dead_letters`
 * and `projection_checkpoint_gap`, and answers dead-letter retries for them. Returns how to stop.
 */
export async function runServiceProjections<DB>(options: ServiceProjectionsOptions<DB>): Promise<() => Promise<void>> {
  const logger = new Logger('Projections');
  const onError = (error: unknown) => logger.warn(`projection: ${String(error)}`);
  const running = new Map<ProjectionDefinition<DB>, RunningProjection>();
  for (const definition of options.projections) {
    const { name, category, schema, apply } = definition;
    const projection = await runProjection({ name, category, schema, apply, store: options.store, db: options.db, onError });
    running.set(definition, projection);
    options.readiness.register(name, async () => ({ ...(await projection.lag()), deadLetters: await projection.deadLetters() }));
  }
  serveDeadLetterRetry(options.rpc, options.db, options.projections);

  const checkpointGap = async ({ name, category, schema }: ProjectionDefinition<DB>): Promise<number> => {
    const [head, { rows }] = await Promise.all([
      options.store.head(category),
      sql<{ sequence: string }>`select sequence from ${sql.id(schema, 'checkpoints')} where projection = ${name} and stream = ${category}`.execute(options.db),
    ]);
    return Math.max(0, head - Number(rows[0]?.sequence ?? 0));
  };
  const gauge = (name: string, help: string, value: (definition: ProjectionDefinition<DB>, projection: RunningProjection) => Promise<number>) =>
    new Gauge({
      name,
      help,
      labelNames: ['projection'] as const,
      registers: [options.metrics.registry],
      async collect() {
        for (const [definition, projection] of running) {
          const measured = await value(definition, projection).catch(() => undefined);
          if (measured !== undefined) this.set({ projection: definition.name }, measured);
        }
      },
    });
  gauge('projection_pending_commits', 'Commits not yet applied by each projection (consumer lag)', async (_, projection) => {
    const lag = await projection.lag();
    return lag.pending + lag.ackPending;
  });
  gauge('projection_dead_letters', 'Commits parked by each projection', (_, projection) => projection.deadLetters());
  gauge('projection_checkpoint_gap', 'Stream head sequence minus the checkpoint sequence of each projection', (definition) => checkpointGap(definition));

  return async () => {
    await Promise.all([...running.values()].map((projection) => projection.stop()));
  };
}

const SERVICE_PROJECTIONS = Symbol('SERVICE_PROJECTIONS');

/** Runs a service's projections (see {@link runServiceProjections}) from start-up to shutdown. */
@Injectable()
class ServiceProjections implements OnApplicationBootstrap, OnModuleDestroy {
  private stop: (() => Promise<void>) | undefined;

  constructor(
    @Inject(SERVICE_PROJECTIONS) private readonly projections: readonly ProjectionDefinition<unknown>[],
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(DATABASE) private readonly db: Kysely<unknown>,
    private readonly readiness: ReadinessChecks,
    private readonly metrics: Metrics,
    private readonly rpc: NatsRpc,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { projections, store, db, readiness, metrics, rpc } = this;
    this.stop = await runServiceProjections({ projections, store, db, readiness, metrics, rpc });
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop?.();
  }
}

/** A service's projections, run for as long as the service runs (health, metrics, dead-letter retry included). */
@Module({})
export class ProjectionsModule {
  static forRoot<DB>(projections: readonly ProjectionDefinition<DB>[]): DynamicModule {
    return { module: ProjectionsModule, providers: [{ provide: SERVICE_PROJECTIONS, useValue: projections }, ServiceProjections] };
  }
}
