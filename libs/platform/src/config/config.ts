import { z } from 'zod';

/** Exit code of a process that refused to start because of its configuration (sysexits EX_CONFIG). */
export const CONFIG_ERROR_EXIT_CODE = 78;

/** Thrown by {@link loadConfig}; its message names every bad variable and what was wrong with it. */
export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: readonly { variable: string; message: string }[],
  ) {
    super(
      `${service}: invalid configuration\n` +
        problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const natsUrl = z
  .string()
  .trim()
  .min(1)
  .refine(
    (value) => value.split(',').every((url) => /^(nats|tls|wss?):\/\/[^\s/]+/.test(url.trim())),
    'must be one or more comma-separated nats:// URLs',
  );

const postgresUrl = z
  .string()
  .trim()
  .refine((value) => /^postgres(ql)?:\/\/\S+$/.test(value), 'must be a postgres:// URL');

const port = z.coerce.number().int().min(1).max(65535);

const otlpEndpoint = z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' });

/** Name fragments that go into stream, subject and consumer names must stay NATS-safe. */
const namespace = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]*$/, 'may only contain letters, digits, "_" and "-"');

/**
 * Environment every service reads. Services extend it with their own variables
 * (`platformEnv(4101).extend({...})`), so one schema documents one process.
 */
export function platformEnv(defaultPort: number) {
  return z.object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    HOST: z.string().trim().min(1).default('0.0.0.0'),
    PORT: port.default(defaultPort),
    NATS_URL: natsUrl.default('nats://127.0.0.1:4222'),
    NATS_NAMESPACE: namespace.default(''),
    /** Replicas of the event streams (3 on a 3-node JetStream cluster). Unset: existing streams keep theirs, new ones get 1. */
    NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).optional(),
    DATABASE_URL: postgresUrl.default('postgres://postgres@127.0.0.1:5432/notebooks'),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
    /** `true`: apply the service's migrations (and provision its streams), then exit 0 without serving. */
    MIGRATE_ONLY: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
    /**
     * OpenTelemetry collector (OTLP, e.g. `http://otel-collector:4318`): set, the service exports
     * traces there; unset, no SDK is loaded. The SDK reads the other standard `OTEL_*` variables itself.
     */
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint.optional(),
    /** Overrides the endpoint for traces alone (the full URL, `…/v1/traces`); set, it turns tracing on too. */
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpEndpoint.optional(),
    /**
     * Which proxies may set X-Forwarded-For (client addresses feed rate limits): `false` (none),
     * `true` (any: only behind a proxy that overwrites the header), a hop count, or addresses/CIDRs.
     */
    TRUST_PROXY: z
      .string()
      .trim()
      .default('false')
      .transform((value): boolean | number | string[] =>
        value === 'true' ? true : value === 'false' ? false : /^\d+$/.test(value) ? Number(value) : value.split(',').map((v) => v.trim()),
      ),
  });
}

export type PlatformConfig = z.infer<ReturnType<typeof platformEnv>>;

/**
 * Validates the environment against a schema and returns typed configuration, or throws a
 * {@link ConfigError} naming each bad variable. Empty strings count as unset.
 */
export function loadConfig<S extends z.ZodType<PlatformConfig>>(
  service: string,
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(
    service,
    result.error.issues.map((issue) => {
      const variable = issue.path.map(String).join('.') || '(environment)';
      const received = cleaned[variable];
      return {
        variable,
        message: received === undefined ? issue.message : `${issue.message} (got ${JSON.stringify(received)})`,
      };
    }),
  );
}
