import { Inject, Injectable, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { ReadModelTables } from '@notebooks/contracts';
import { EventStore } from '@notebooks/event-store';
import { DATABASE, Metrics, NatsRpc, ReadinessChecks } from '@notebooks/platform';
import { runServiceProjections } from '@notebooks/projector';
import type { Kysely } from 'kysely';
import { READ_MODEL_PROJECTIONS } from './projections';

/** Runs the read-model projections for as long as the service runs (health, metrics, dead-letter retry included). */
@Injectable()
export class ReadModelProjections implements OnApplicationBootstrap, OnModuleDestroy {
  private stop: (() => Promise<void>) | undefined;

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(DATABASE) private readonly db: Kysely<ReadModelTables>,
    private readonly readiness: ReadinessChecks,
    private readonly metrics: Metrics,
    private readonly rpc: NatsRpc,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { store, db, readiness, metrics, rpc } = this;
    this.stop = await runServiceProjections({ projections: READ_MODEL_PROJECTIONS, store, db, readiness, metrics, rpc });
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop?.();
  }
}

@Module({ providers: [ReadModelProjections] })
export class ReadModelModule {}
