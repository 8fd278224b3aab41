import { Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { ReadModelTables } from '@notebooks/contracts';
import { EventStore } from '@notebooks/event-store';
import { DATABASE, Metrics, ReadinessChecks } from '@notebooks/platform';
import { runProjection, type RunningProjection } from '@notebooks/projector';
import type { Kysely } from 'kysely';
import { Gauge } from 'prom-client';
import { projectNotebookCommit } from './notebooks.projection';
import { projectUserCommit } from './users.projection';

/** Runs the read-model projections for as long as the service runs; their lag and dead letters show in health and metrics. */
@Injectable()
export class ReadModelProjections implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ReadModelProjections.name);
  private readonly running = new Map<string, RunningProjection>();

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(DATABASE) private readonly db: Kysely<ReadModelTables>,
    private readonly readiness: ReadinessChecks,
    private readonly metrics: Metrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const common = { store: this.store, db: this.db, schema: 'read', onError: (error: unknown) => this.logger.warn(`projection: ${String(error)}`) };
    this.running.set('read-notebooks', await runProjection({ ...common, name: 'read-notebooks', category: 'notebooks', apply: projectNotebookCommit }));
    this.running.set('read-users', await runProjection({ ...common, name: 'read-users', category: 'users', apply: projectUserCommit }));

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
    for (const [name, projection] of this.running) {
      this.readiness.register(name, async () => ({ ...(await projection.lag()), deadLetters: await projection.deadLetters() }));
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.running.values()].map((projection) => projection.stop()));
  }
}

@Module({ providers: [ReadModelProjections] })
export class ReadModelModule {}
