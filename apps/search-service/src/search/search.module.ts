import { Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { EventStore } from '@notebooks/event-store';
import { DATABASE, Metrics, ReadinessChecks } from '@notebooks/platform';
import { runProjection, type RunningProjection } from '@notebooks/projector';
import type { Kysely } from 'kysely';
import { Gauge } from 'prom-client';
import { PostgresSearchIndex, type SearchTables } from './postgres-search-index';
import { SEARCH_PROJECTIONS } from './projections';
import { SearchIndex } from './search-index';
import { SearchHandlers } from './search.handlers';

/** Keeps the index current for as long as the service runs; its lag and dead letters show in health and metrics. */
@Injectable()
export class SearchProjections implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SearchProjections.name);
  private readonly running = new Map<string, RunningProjection>();

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(DATABASE) private readonly db: Kysely<SearchTables>,
    private readonly readiness: ReadinessChecks,
    private readonly metrics: Metrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const onError = (error: unknown) => this.logger.warn(`projection: ${String(error)}`);
    for (const { name, category, schema, apply } of SEARCH_PROJECTIONS) {
      const projection = await runProjection({ name, category, schema, apply, store: this.store, db: this.db, onError });
      this.running.set(name, projection);
      this.readiness.register(name, async () => ({ ...(await projection.lag()), deadLetters: await projection.deadLetters() }));
    }
    const running = this.running;
    new Gauge({
      name: 'projection_pending_commits',
      help: 'Commits not yet applied by each projection (consumer lag)',
      labelNames: ['projection'] as const,
      registers: [this.metrics.registry],
      async collect() {
        for (const [name, projection] of running) {
          const lag = await projection.lag().catch(() => undefined);
          if (lag) this.set({ projection: name }, lag.pending + lag.ackPending);
        }
      },
    });
    new Gauge({
      name: 'projection_dead_letters',
      help: 'Commits parked by each projection',
      labelNames: ['projection'] as const,
      registers: [this.metrics.registry],
      async collect() {
        for (const [name, projection] of running) this.set({ projection: name }, await projection.deadLetters().catch(() => 0));
      },
    });
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.running.values()].map((projection) => projection.stop()));
  }
}

/** Search: the index projected from the notebook log, and the queries on it. */
@Module({
  providers: [
    { provide: SearchIndex, inject: [DATABASE], useFactory: (db: Kysely<SearchTables>) => new PostgresSearchIndex(db) },
    SearchProjections,
    SearchHandlers,
  ],
})
export class SearchModule {}
