import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { isJsonObject, type Json, type JsonObject } from './kustomize';

/** One service of a compose file, normalised from compose's several spellings of each field. */
export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: Json;
  environment: Record<string, string>;
  /** Target service → condition (`service_started` for the list form). */
  dependsOn: Record<string, string>;
  ports: { published: string; target: string }[];
  healthcheck?: JsonObject;
  stopGracePeriodMs?: number;
  volumes: string[];
  raw: JsonObject;
}

export interface ComposeProject {
  services: Record<string, ComposeService>;
  volumes: string[];
}

export class ComposeError extends Error {
  override name = 'ComposeError';
}

/**
 * Reads a compose file as `docker compose config` would for what the specs check: YAML merge keys
 * (`<<:`), `${VAR}` interpolation from `variables` (with `:-`, `-`, `:?`, `?`, `:+`, `+` and `$$`),
 * and the short and long forms of environment, depends_on and ports.
 */
export function loadCompose(path: string, variables: Record<string, string | undefined>): ComposeProject {
  const document = parse(readFileSync(path, 'utf8'), { merge: true }) as Json;
  if (!isJsonObject(document) || !isJsonObject(document.services)) throw new ComposeError(`${path}: no services`);
  const interpolated = interpolate(document, variables);
  if (!isJsonObject(interpolated) || !isJsonObject(interpolated.services)) throw new ComposeError(`${path}: no services`);
  const services: Record<string, ComposeService> = {};
  for (const [name, value] of Object.entries(interpolated.services)) {
    if (!isJsonObject(value)) throw new ComposeError(`${path}: service ${name} is not a mapping`);
    services[name] = normaliseService(name, value);
  }
  return { services, volumes: isJsonObject(interpolated.volumes) ? Object.keys(interpolated.volumes) : [] };
}

function interpolate(value: Json, variables: Record<string, string | undefined>): Json {
  if (typeof value === 'string') return interpolateString(value, variables);
  if (Array.isArray(value)) return value.map((item) => interpolate(item, variables));
  if (isJsonObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, variables)]));
  return value;
}

export function interpolateString(text: string, variables: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced?: string, operator?: string, argument = '', bare?: string) => {
    if (match === '$$') return '$';
    const name = braced ?? bare ?? '';
    const value = variables[name];
    const unset = value === undefined;
    const empty = unset || value === '';
    switch (operator) {
      case undefined:
        return value ?? '';
      case ':-':
        return empty ? argument : (value ?? '');
      case '-':
        return unset ? argument : value;
      case ':?':
      case '?':
        if (operator === ':?' ? empty : unset) throw new ComposeError(`required variable ${name} is missing a value: ${argument}`);
        return value ?? '';
      case ':+':
        return empty ? '' : argument;
      case '+':
        return unset ? '' : argument;
      default:
        throw new ComposeError(`unsupported interpolation ${match}`);
    }
  });
}

function normaliseService(name: string, raw: JsonObject): ComposeService {
  const where = `service ${name}`;
  return {
    image: typeof raw.image === 'string' ? raw.image : undefined,
    build: normaliseBuild(raw.build, where),
    command: raw.command,
    environment: normaliseEnvironment(raw.environment, where),
    dependsOn: normaliseDependsOn(raw.depends_on, where),
    ports: normalisePorts(raw.ports, where),
    healthcheck: isJsonObject(raw.healthcheck) ? raw.healthcheck : undefined,
    stopGracePeriodMs: raw.stop_grace_period === undefined ? undefined : durationMs(String(raw.stop_grace_period), where),
    volumes: Array.isArray(raw.volumes) ? raw.volumes.map(String) : [],
    raw,
  };
}

function normaliseBuild(build: Json | undefined, where: string): ComposeService['build'] {
  if (build === undefined) return undefined;
  if (typeof build === 'string') return { context: build, dockerfile: 'Dockerfile' };
  if (!isJsonObject(build) || typeof build.context !== 'string') throw new ComposeError(`${where}: build needs a context`);
  return { context: build.context, dockerfile: typeof build.dockerfile === 'string' ? build.dockerfile : 'Dockerfile' };
}

function normaliseEnvironment(environment: Json | undefined, where: string): Record<string, string> {
  if (environment === undefined || environment === null) return {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry) => {
        const text = String(entry);
        const equals = text.indexOf('=');
        if (equals < 0) throw new ComposeError(`${where}: environment entry ${text} takes its value from the host, which the spec cannot check`);
        return [text.slice(0, equals), text.slice(equals + 1)];
      }),
    );
  }
  if (!isJsonObject(environment)) throw new ComposeError(`${where}: environment must be a mapping or a list`);
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => {
      if (value === null || isJsonObject(value) || Array.isArray(value)) throw new ComposeError(`${where}: environment ${key} must be a scalar`);
      return [key, String(value)];
    }),
  );
}

function normaliseDependsOn(dependsOn: Json | undefined, where: string): Record<string, string> {
  if (dependsOn === undefined) return {};
  if (Array.isArray(dependsOn)) return Object.fromEntries(dependsOn.map((target) => [String(target), 'service_started']));
  if (!isJsonObject(dependsOn)) throw new ComposeError(`${where}: depends_on must be a list or a mapping`);
  return Object.fromEntries(
    Object.entries(dependsOn).map(([target, spec]) => [target, isJsonObject(spec) && typeof spec.condition === 'string' ? spec.condition : 'service_started']),
  );
}

function normalisePorts(ports: Json | undefined, where: string): ComposeService['ports'] {
  if (ports === undefined) return [];
  if (!Array.isArray(ports)) throw new ComposeError(`${where}: ports must be a list`);
  return ports.map((port) => {
    if (isJsonObject(port)) return { published: String(port.published ?? ''), target: String(port.target ?? '') };
    // [host_ip:]published:target[/protocol]
    const parts = String(port).replace(/\/(tcp|udp)$/, '').split(':');
    return parts.length === 1 ? { published: '', target: parts[0] } : { published: parts[parts.length - 2], target: parts[parts.length - 1] };
  });
}

/** Compose durations: `1m30s`, `20s`, `500ms`. */
export function durationMs(text: string, where: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) throw new ComposeError(`${where}: ${text} is not a duration`);
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * units[unit], 0);
}
