import { Inject, Injectable, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { EventStore } from '@notebooks/event-store';
import { DATABASE, Metrics, NatsRpc, ReadinessChecks } from '@notebooks/platform';
import { runServiceProjections } from '@notebooks/projector';
import type { Kysely } from 'kysely';
import { PostgresSearchIndex, type SearchTables } from './postgres-search-index';
import { SEARCH_PROJECTIONS } from './projections';
import { SearchIndex } from './search-index';
import { SearchHandlers } from './search.handlers';

/** Keeps the index current for as long as the service runs (health, metrics, dead-letter retry included). */
@Injectable()
export class SearchProjections implements OnApplicationBootstrap, OnModuleDestroy {
  private stop: (() => Promise<void>) | undefined;

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(DATABASE) private readonly db: Kysely<SearchTables>,
    private readonly readiness: ReadinessChecks,
    private readonly metrics: Metrics,
    private readonly rpc: NatsRpc,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { store, db, readiness, metrics, rpc } = this;
    this.stop = await runServiceProjections({ projections: SEARCH_PROJECTIONS, store, db, readiness, metrics, rpc });
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop?.();
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
