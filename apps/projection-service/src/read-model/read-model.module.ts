import { Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { ReadModelTables } from '@notebooks/contracts';
import { EventStore } from '@notebooks/event-store';
import { DATABASE, Metrics, ReadinessChecks } from '@notebooks/platform';
import { runProjection, type RunningProjection } from '@notebooks/projector';
import { sql, type Kysely } from 'kysely';
import { Gauge } from 'prom-client';
import { READ_MODEL_PROJECTIONS } from './projections';

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
    const onError = (error: unknown) => this.logger.warn(`projection: ${String(error)}`);
    for (const { name, category, schema, apply } of READ_MODEL_PROJECTIONS) {
      this.running.set(name, await runProjection({ name, category, schema, apply, store: this.store, db: this.db, onError }));
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
    const checkpointGap = (definition: (typeof READ_MODEL_PROJECTIONS)[number]) => this.checkpointGap(definition);
    new Gauge({
      name: 'projection_checkpoint_gap',
      help: 'Stream head sequence minus the checkpoint sequence of each projection',
      labelNames: ['projection'] as const,
      registers: [this.metrics.registry],
      async collect() {
        for (const definition of READ_MODEL_PROJECTIONS) {
          const gap = await checkpointGap(definition).catch(() => undefined);
          if (gap !== undefined) this.set({ projection: definition.name }, gap);
        }
      },
    });
    for (const [name, projection] of this.running) {
      this.readiness.register(name, async () => ({ ...(await projection.lag()), deadLetters: await projection.deadLetters() }));
    }
  }

  /** How far a projection's checkpoint is behind its stream's head (0 before the stream has anything). */
  private async checkpointGap({ name, category, schema }: (typeof READ_MODEL_PROJECTIONS)[number]): Promise<number> {
    const [head, { rows }] = await Promise.all([
      this.store.head(category),
      sql<{ sequence: string }>`select sequence from ${sql.id(schema, 'checkpoints')} where projection = ${name} and stream = ${category}`.execute(this.db),
    ]);
    return Math.max(0, head - Number(rows[0]?.sequence ?? 0));
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.running.values()].map((projection) => projection.stop()));
  }
}

@Module({ providers: [ReadModelProjections] })
export class ReadModelModule {}
