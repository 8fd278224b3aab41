import { runReplayCommand as runServiceReplay, runReplayProgram, type ReplayCommandOptions } from '@notebooks/projector';
import { join } from 'node:path';
import type { SearchTables } from './search/postgres-search-index';
import { SEARCH_PROJECTIONS } from './search/projections';
import { searchEnv } from './service';

const REPLAY: ReplayCommandOptions<SearchTables> = {
  projections: SEARCH_PROJECTIONS,
  env: searchEnv,
  migrationsFolder: join(__dirname, '..', 'migrations'),
};

/** `replay search-documents [--fresh]`: rebuilds the search index while the live one keeps serving (see runReplayCommand in @notebooks/projector). */
export function runReplayCommand(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  return runServiceReplay(REPLAY, argv, env);
}

if (require.main === module) runReplayProgram(REPLAY);
