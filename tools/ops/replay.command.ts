import { WORKSPACE_ROOT } from '@notebooks/testing';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { OpsContext } from './context';
import { OpsError, UsageError } from './errors';

/**
 * Each service's replay entry, by the schema its projections write. A projection's name begins
 * with that schema (`read-notebooks`, `search-documents`): the service that owns a schema runs its
 * projections, and only it can rebuild them.
 */
export const REPLAY_SCRIPTS: Readonly<Record<string, { service: string; script: string }>> = {
  read: { service: 'projection-service', script: join(WORKSPACE_ROOT, 'apps', 'projection-service', 'src', 'replay.ts') },
  search: { service: 'search-service', script: join(WORKSPACE_ROOT, 'apps', 'search-service', 'src', 'replay.ts') },
};

/** The replay entry of the service that runs `projection`; UsageError when no service's projections are named so. */
export function replayScriptFor(projection: string): string {
  const entry = REPLAY_SCRIPTS[projection.split('-')[0] ?? ''];
  if (entry) return entry.script;
  const known = Object.entries(REPLAY_SCRIPTS).map(([schema, { service }]) => `${schema}-… (${service})`);
  throw new UsageError(`no service runs a projection named "${projection}": projection names begin with their schema: ${known.join(', ')}`);
}

/** EX_TEMPFAIL: the replay script's answer when another replay of the projection holds the lock. */
const ANOTHER_REPLAY_RUNS = 75;

export interface ReplayOptions {
  fresh: boolean;
  /** The script to run (tests substitute a stub). */
  script?: string;
}

/**
 * Runs the replay script of the service that owns the projection as its own process, in the
 * foreground, against the platform this CLI resolved; its exit code becomes ours. Ctrl-C reaches
 * both (same process group): the replay stops itself, and we wait for it.
 */
export async function replayCommand(context: OpsContext, projection: string, options: ReplayOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const script = options.script ?? replayScriptFor(projection);
  if (!existsSync(script)) throw new OpsError(`${script} does not exist: this checkout has no replay`);
  const { target, output } = context;
  const child = spawn(process.execPath, ['-r', '@swc-node/register', script, projection, ...(options.fresh ? ['--fresh'] : [])], {
    cwd: WORKSPACE_ROOT,
    stdio: 'inherit',
    env: { ...env, NATS_URL: target.natsUrl, DATABASE_URL: target.databaseUrl, NATS_NAMESPACE: target.namespace },
  });
  const ignoreInterrupt = () => undefined;
  process.on('SIGINT', ignoreInterrupt);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode, signal) => resolve(exitCode ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
    if (code === ANOTHER_REPLAY_RUNS) output.error(`another replay of ${projection} is running (exit ${code}); try again when it has finished`);
    else if (code !== 0) output.error(`replay of ${projection} failed with exit code ${code}`);
    return code;
  } finally {
    process.off('SIGINT', ignoreInterrupt);
  }
}
