import type { Connections } from './connections';
import type { OpsContext } from './context';
import { eventStreams, streamInfo } from './jetstream';
import { count, describeError, plural, status, table, truncate, type Output } from './output';

const SERVICE_TIMEOUT_MS = 3_000;

export interface ComponentHealth {
  component: string;
  kind: 'service' | 'nats' | 'postgres' | 'stream';
  healthy: boolean;
  /** What is fine, or why it is not. */
  detail: string;
}

/** Terminus' answer: `error` maps each failing check to its result (the gateway's error filter answers `{ error: { code, message } }` instead). */
interface TerminusBody {
  status?: string;
  info?: Record<string, unknown>;
  error?: Record<string, unknown>;
}

/** `GET /health/ready` of one service: green on 200, red with the failing checks or the network error. */
async function serviceHealth(name: string, url: string): Promise<ComponentHealth> {
  const started = performance.now();
  try {
    const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(SERVICE_TIMEOUT_MS) });
    const ms = Math.round(performance.now() - started);
    const body = (await response.json().catch(() => ({}))) as TerminusBody;
    if (response.ok) {
      const checks = Object.keys(body.info ?? {});
      return { component: name, kind: 'service', healthy: true, detail: `ready in ${ms} ms at ${url}${checks.length ? ` (${checks.join(', ')})` : ''}` };
    }
    const failing = Object.entries(body.error ?? {}).flatMap(([check, result]) =>
      typeof result === 'object' && result !== null ? [`${check}: ${String((result as { message?: unknown }).message ?? 'down')}`] : [],
    );
    if (failing.length === 0 && typeof body.error?.['message'] === 'string') failing.push(body.error['message']);
    return { component: name, kind: 'service', healthy: false, detail: `not ready (HTTP ${response.status})${failing.length ? `: ${failing.join('; ')}` : ''}` };
  } catch (error) {
    return { component: name, kind: 'service', healthy: false, detail: `${url} unreachable: ${networkReason(error)}` };
  }
}

function networkReason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${SERVICE_TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (not running?)';
  return cause?.message ?? describeError(error);
}

async function natsHealth(connections: Connections): Promise<ComponentHealth> {
  const url = connections.target.natsUrl;
  try {
    const nc = await connections.nats();
    const account = await (await connections.jsm()).getAccountInfo();
    const server = nc.info ? `nats-server ${nc.info.version}` : 'nats-server';
    return {
      component: 'nats',
      kind: 'nats',
      healthy: true,
      detail: `${server} at ${url}, JetStream: ${plural(account.streams, 'stream')}, ${plural(account.consumers, 'consumer')}`,
    };
  } catch (error) {
    return { component: 'nats', kind: 'nats', healthy: false, detail: describeError(error) };
  }
}

async function postgresHealth(connections: Connections): Promise<ComponentHealth> {
  try {
    const started = performance.now();
    const [row] = await connections.query<{ version: string }>(`select current_setting('server_version') as version`);
    const ms = Math.round(performance.now() - started);
    return { component: 'postgres', kind: 'postgres', healthy: true, detail: `PostgreSQL ${row?.version ?? '?'}, select answered in ${ms} ms` };
  } catch (error) {
    return { component: 'postgres', kind: 'postgres', healthy: false, detail: describeError(error) };
  }
}

async function streamsHealth(connections: Connections, natsHealthy: boolean): Promise<ComponentHealth[]> {
  return Promise.all(
    eventStreams(connections.target.namespace).map(async ({ name }): Promise<ComponentHealth> => {
      if (!natsHealthy) return { component: `stream ${name}`, kind: 'stream', healthy: false, detail: 'NATS unreachable' };
      try {
        const info = await streamInfo(connections, name);
        if (!info) return { component: `stream ${name}`, kind: 'stream', healthy: false, detail: 'does not exist (a service creates it at start-up)' };
        return {
          component: `stream ${name}`,
          kind: 'stream',
          healthy: true,
          detail: `${plural(info.state.messages, 'message')}, last seq ${count(info.state.last_seq)}, ${plural(info.state.consumer_count, 'consumer')}`,
        };
      } catch (error) {
        return { component: `stream ${name}`, kind: 'stream', healthy: false, detail: describeError(error) };
      }
    }),
  );
}

/** Every service's readiness, NATS with JetStream, Postgres and the event streams. */
export async function checkHealth(connections: Connections): Promise<ComponentHealth[]> {
  const [services, nats, postgres] = await Promise.all([
    Promise.all(connections.target.services.map(({ name, url }) => serviceHealth(name, url))),
    natsHealth(connections),
    postgresHealth(connections),
  ]);
  return [...services, nats, postgres, ...(await streamsHealth(connections, nats.healthy))];
}

export function renderHealth(output: Output, components: ComponentHealth[]): string {
  const down = components.filter((c) => !c.healthy).length;
  const rows = components.map((c) => [c.component, status(output, c.healthy), truncate(c.detail, 160)]);
  const summary = down === 0 ? status(output, true, `all ${components.length} components healthy`) : status(output, false, '', `${down} of ${components.length} components down`);
  return `${table(output, ['COMPONENT', 'STATUS', 'DETAIL'], rows)}\n${summary}`;
}

export async function healthCommand(context: OpsContext): Promise<number> {
  const components = await checkHealth(context.connections);
  const healthy = components.every((c) => c.healthy);
  if (context.output.json) context.output.line(JSON.stringify({ healthy, components }, null, 2));
  else context.output.line(renderHealth(context.output, components));
  return healthy ? 0 : 1;
}
