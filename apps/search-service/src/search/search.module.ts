import { Module } from '@nestjs/common';
import { DATABASE } from '@notebooks/platform';
import { ProjectionsModule } from '@notebooks/projector';
import type { Kysely } from 'kysely';
import { PostgresSearchIndex, type SearchTables } from './postgres-search-index';
import { SEARCH_PROJECTIONS } from './projections';
import { SearchIndex } from './search-index';
import { SearchHandlers } from './search.handlers';

/** Search: the index projected from the notebook log, and the queries on it. */
@Module({
  imports: [ProjectionsModule.forRoot(SEARCH_PROJECTIONS)],
  providers: [
    { provide: SearchIndex, inject: [DATABASE], useFactory: (db: Kysely<SearchTables>) => new PostgresSearchIndex(db) },
    SearchHandlers,
  ],
})
export class SearchModule {}
