import { ConfigError, loadConfig, type PlatformConfig, type ServiceDefinition } from '@notebooks/platform';
import { join } from 'node:path';
import { z } from 'zod';
import type { EnvironmentUnderTest, EnvironmentVerdict, ServiceSchemas } from './service-env';

/**
 * Child process of {@link judgeEnvironments}: reads `{ services, environments }` on stdin, loads each
 * service's definition and writes a {@link ServiceSchemas} as JSON on stdout.
 */
const WORKSPACE_ROOT = join(__dirname, '..', '..', '..');

type Definition = ServiceDefinition<PlatformConfig>;

function isDefinitionOf(service: string) {
  return (value: unknown): value is Definition =>
    typeof value === 'object' && value !== null && 'name' in value && value.name === service && 'env' in value && value.env instanceof z.ZodType;
}

async function loadDefinition(service: string): Promise<Definition> {
  const exported = (await import(join(WORKSPACE_ROOT, 'apps', service, 'src', 'service.ts'))) as Record<string, unknown>;
  const definition = Object.values(exported).find(isDefinitionOf(service));
  if (!definition) throw new Error(`apps/${service}/src/service.ts exports no ServiceDefinition named ${service}`);
  return definition;
}

function judge(definition: Definition, variables: string[], environment: EnvironmentUnderTest): EnvironmentVerdict {
  const unknown = Object.keys(environment.env).filter((name) => !variables.includes(name));
  try {
    const { PORT, SHUTDOWN_TIMEOUT_MS, DATABASE_POOL_MAX, NODE_ENV } = loadConfig(definition.name, definition.env, environment.env);
    return { id: environment.id, problems: [], unknown, config: { PORT, SHUTDOWN_TIMEOUT_MS, DATABASE_POOL_MAX, NODE_ENV } };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { id: environment.id, problems: error.problems.map((p) => `${p.variable}: ${p.message}`), unknown };
  }
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { services: string[]; environments: EnvironmentUnderTest[] };

  const output: ServiceSchemas = { variables: {}, defaultPorts: {}, verdicts: [] };
  const definitions = new Map<string, Definition>();
  for (const service of input.services) {
    const definition = await loadDefinition(service);
    definitions.set(service, definition);
    output.variables[service] = definition.env instanceof z.ZodObject ? Object.keys(definition.env.shape).sort() : [];
    // NODE_ENV=test: production-only requirements (a signing key) do not hide the default port.
    output.defaultPorts[service] = loadConfig(service, definition.env, { NODE_ENV: 'test' }).PORT;
  }
  for (const environment of input.environments) {
    const definition = definitions.get(environment.service);
    if (!definition) {
      output.verdicts.push({ id: environment.id, problems: [`no app named ${environment.service} in apps/`], unknown: [] });
      continue;
    }
    output.verdicts.push(judge(definition, output.variables[environment.service], environment));
  }
  process.stdout.write(JSON.stringify(output));
}

main().then(
  // Service modules may hold handles open (none are started, but nothing is left to chance).
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
