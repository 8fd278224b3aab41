import type { ProjectionDefinition } from '@notebooks/projector';
import { PostgresSearchIndex, type SearchTables } from './postgres-search-index';
import { projectSearchCommit } from './search.projection';

/**
 * The projections search-service runs, and what its replay rebuilds: `tables` are the tables of
 * `search` the projection alone writes.
 */
export const SEARCH_PROJECTIONS: readonly ProjectionDefinition<SearchTables>[] = [
  {
    name: 'search-documents',
    category: 'notebooks',
    schema: 'search',
    tables: ['notebooks', 'collaborators', 'documents', 'terms'],
    apply: (trx, commit) => projectSearchCommit(new PostgresSearchIndex(trx), commit),
  },
];
