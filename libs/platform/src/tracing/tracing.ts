import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import type { NodeSDK } from '@opentelemetry/sdk-node';

/** The variables that decide whether a process exports traces (the standard OTel ones). */
interface TracingEnv {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_SDK_DISABLED?: string | undefined;
}

/** A started OpenTelemetry SDK. */
export interface Tracing {
  /** Exports the spans still buffered and stops; call it last on shutdown. */
  shutdown(): Promise<void>;
}

let running: NodeSDK | undefined;

/** The SDK's own warnings follow LOG_LEVEL too. */
const DIAG_LEVELS: Partial<Record<string, DiagLogLevel>> = { silent: DiagLogLevel.NONE, fatal: DiagLogLevel.ERROR, error: DiagLogLevel.ERROR };

/** Tracing is on when an OTLP endpoint is configured, unless `OTEL_SDK_DISABLED=true`. */
function tracingWanted(env: TracingEnv = process.env): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  return Boolean(endpoint) && env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true';
}

/** True once {@link startTracing} started the SDK in this process: HTTP requests then get server spans. */
export function tracingStarted(): boolean {
  return running !== undefined;
}

/**
 * Starts the OpenTelemetry SDK with `service` as `service.name`, exporting traces only (metrics are
 * Prometheus' and logs are JSON lines). Everything else comes from the standard variables the SDK
 * reads itself: `OTEL_EXPORTER_OTLP_PROTOCOL` (default http/protobuf), `OTEL_TRACES_SAMPLER(_ARG)`,
 * `OTEL_BSP_*`, `OTEL_PROPAGATORS`, `OTEL_RESOURCE_ATTRIBUTES`. Without an endpoint it returns
 * undefined and the SDK is not even loaded: the API calls in the code stay no-ops.
 */
export async function startTracing(service: string): Promise<Tracing | undefined> {
  if (!tracingWanted()) return undefined;
  if (running) throw new Error('tracing is already started in this process');
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({ serviceName: service, metricReaders: [], logRecordProcessors: [] });
  // The SDK says why an export failed only through its diagnostic logger; OTEL_LOG_LEVEL sets its own.
  const logLevel = DIAG_LEVELS[process.env['LOG_LEVEL'] ?? ''] ?? DiagLogLevel.WARN;
  if (!process.env['OTEL_LOG_LEVEL']) diag.setLogger(jsonDiagLogger(service), { logLevel, suppressOverrideMessage: true });
  sdk.start();
  running = sdk;
  return {
    shutdown: async () => {
      if (running !== sdk) return;
      running = undefined;
      // Spans that cannot be delivered are lost, but the service still stops cleanly.
      await sdk.shutdown().catch((error: unknown) => diag.error('could not flush spans:', error));
    },
  };
}

/** The SDK's warnings as JSON log lines shaped like the service's own (pino levels 40 and 50). */
function jsonDiagLogger(service: string): DiagLogger {
  const write = (level: number) => (message: string, ...args: unknown[]) => {
    const detail = args.map(describe).join(' ');
    process.stdout.write(`${JSON.stringify({ level, time: Date.now(), service, context: 'OpenTelemetry', msg: detail ? `${message} ${detail}` : message })}\n`);
  };
  const ignore = () => undefined;
  return { error: write(50), warn: write(40), info: ignore, debug: ignore, verbose: ignore };
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
