import { ReplayExitCode, runReplayCommand as runServiceReplay, runReplayProgram, type ReplayCommandOptions } from '@notebooks/projector';
import type { ReadModelTables } from '@notebooks/contracts';
import { join } from 'node:path';
import { READ_MODEL_PROJECTIONS } from './read-model/projections';
import { projectionEnv } from './service';

export { ReplayExitCode };

const REPLAY: ReplayCommandOptions<ReadModelTables> = {
  projections: READ_MODEL_PROJECTIONS,
  env: projectionEnv,
  migrationsFolder: join(__dirname, '..', 'migrations'),
};

/** `replay <projection> [--fresh]` for projection-service's read models (see runReplayCommand in @notebooks/projector). */
export function runReplayCommand(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  return runServiceReplay(REPLAY, argv, env);
}

if (require.main === module) runReplayProgram(REPLAY);
