import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@notebooks/testing';

/** One environment a deployment gives one service (a compose service, a Deployment's container). */
export interface EnvironmentUnderTest {
  /** Names the environment in problems, e.g. `compose gateway`. */
  id: string;
  service: string;
  env: Record<string, string>;
}

/** What the service's own schema says about one environment. */
export interface EnvironmentVerdict {
  id: string;
  /** What `loadConfig` would refuse the process for (it would exit 78), one line per variable. */
  problems: string[];
  /** Variables the schema does not read: a typo, or a setting with no effect. */
  unknown: string[];
  /** The values the service would run with, when the environment is valid. */
  config?: { PORT: number; SHUTDOWN_TIMEOUT_MS: number; DATABASE_POOL_MAX: number; NODE_ENV: string };
}

export interface ServiceSchemas {
  /** Every variable each service's schema reads. */
  variables: Record<string, string[]>;
  /** Each service's PORT when none is set. */
  defaultPorts: Record<string, number>;
  verdicts: EnvironmentVerdict[];
}

/** The apps that are services: every apps/<name> with a src/service.ts (its ServiceDefinition). */
export function platformApps(): string[] {
  const apps = join(WORKSPACE_ROOT, 'apps');
  return readdirSync(apps)
    .filter((name) => existsSync(join(apps, name, 'src', 'service.ts')))
    .sort();
}

/**
 * Judges environments with each service's real zod schema, as the service would at start-up.
 *
 * The schemas live in the apps (`apps/<service>/src/service.ts`), and `nx lint` forbids a tool to
 * import an app. So they are loaded in a child process, the way specs and `npm start` run apps as
 * processes (libs/testing ServiceProcess), and only plain data crosses back: variable names,
 * problems and resolved values. Re-implementing the schemas here would drift; parsing their source
 * could not evaluate defaults or cross-variable rules (JWT_PRIVATE_KEY is required only when
 * NODE_ENV=production).
 */
export function judgeEnvironments(environments: EnvironmentUnderTest[]): ServiceSchemas {
  const child = join(__dirname, 'service-env.child.ts');
  const result = spawnSync(process.execPath, ['-r', '@swc-node/register', child], {
    cwd: WORKSPACE_ROOT,
    input: JSON.stringify({ services: platformApps(), environments }),
    encoding: 'utf8',
    timeout: 30_000,
    // The child judges the environments it is given, never its own.
    env: { PATH: process.env.PATH ?? '' },
  });
  if (result.status !== 0) throw new Error(`loading the service schemas failed (${result.status ?? result.signal}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as ServiceSchemas;
}
