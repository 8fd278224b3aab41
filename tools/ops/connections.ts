import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SERVICES, WORKSPACE_ROOT } from '@notebooks/testing';
import { join } from 'node:path';
import { Pool, type QueryResultRow } from 'pg';
import { OpsError, Unreachable } from './errors';
import { isAlive, platformFilePath, readPlatformFile } from './platform-file';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/notebooks';
const CONNECT_TIMEOUT_MS = 3_000;

export interface TargetOptions {
  nats?: string;
  database?: string;
  namespace?: string;
  platformFile?: string;
}

/** Where the platform is, and which setting each value came from (shown by `health`). */
export interface Target {
  natsUrl: string;
  databaseUrl: string;
  namespace: string;
  /** Base URL of each service's HTTP listener. */
  services: { name: string; url: string }[];
  /** The platform file read, if any. */
  platformFile?: string;
  /** Said once to the operator, e.g. a stale platform file that was ignored. */
  notes: string[];
}

/**
 * Flags first, then NATS_URL / DATABASE_URL / NATS_NAMESPACE, then the platform file of a running
 * `npm start`, then the local defaults.
 */
export function resolveTarget(options: TargetOptions, env: NodeJS.ProcessEnv): Target {
  const path = options.platformFile ?? platformFilePath(env['DATA_DIR'] ?? join(WORKSPACE_ROOT, '.data'));
  const notes: string[] = [];
  let platform;
  try {
    platform = readPlatformFile(path);
  } catch (error) {
    notes.push(`ignoring ${path}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  if (platform && !isAlive(platform.pid)) {
    notes.push(`ignoring ${path}: the npm start that wrote it (pid ${platform.pid}) is gone`);
    platform = undefined;
  }
  const services = platform
    ? Object.entries(platform.services).map(([name, url]) => ({ name, url }))
    : SERVICES.map(({ name, port }) => ({ name, url: `http://127.0.0.1:${port}` }));
  return {
    natsUrl: options.nats ?? env['NATS_URL'] ?? platform?.natsUrl ?? DEFAULT_NATS_URL,
    databaseUrl: options.database ?? env['DATABASE_URL'] ?? platform?.databaseUrl ?? DEFAULT_DATABASE_URL,
    namespace: options.namespace ?? env['NATS_NAMESPACE'] ?? platform?.namespace ?? '',
    services,
    ...(platform && { platformFile: path }),
    notes,
  };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** NATS and Postgres connections of one CLI run, opened on first use and closed by {@link close}. */
export class Connections {
  private natsConnection?: Promise<NatsConnection>;
  private manager?: Promise<JetStreamManager>;
  private pool?: Pool;

  constructor(readonly target: Target) {}

  nats(): Promise<NatsConnection> {
    this.natsConnection ??= connect({
      servers: this.target.natsUrl.split(','),
      name: 'notebooks-ops',
      timeout: CONNECT_TIMEOUT_MS,
      // A long-running `watch` rides out a NATS restart; one-shot commands fail fast.
      maxReconnectAttempts: -1,
    }).catch((error: unknown) => {
      this.natsConnection = undefined;
      throw new Unreachable(`NATS at ${this.target.natsUrl} is unreachable: ${describeNatsError(error)}`);
    });
    return this.natsConnection;
  }

  jsm(): Promise<JetStreamManager> {
    this.manager ??= this.nats()
      .then((nc) => jetstreamManager(nc))
      .catch((error: unknown) => {
        this.manager = undefined;
        if (error instanceof OpsError) throw error;
        if ((error as Error).name === 'JetStreamNotEnabled') throw new Unreachable(`JetStream is not enabled on NATS at ${this.target.natsUrl}`);
        throw new Unreachable(`JetStream at ${this.target.natsUrl} does not answer: ${describeNatsError(error)}`);
      });
    return this.manager;
  }

  /** Runs one statement; connection failures become {@link Unreachable} with the reason. */
  async query<Row extends QueryResultRow>(text: string, values: unknown[] = []): Promise<Row[]> {
    this.pool ??= this.createPool();
    try {
      return (await this.pool.query<Row>(text, values)).rows;
    } catch (error) {
      throw toDatabaseError(error, this.target.databaseUrl);
    }
  }

  /** Runs `work` in one transaction on one connection. */
  async transaction<T>(work: (query: <Row extends QueryResultRow>(text: string, values?: unknown[]) => Promise<Row[]>) => Promise<T>): Promise<T> {
    this.pool ??= this.createPool();
    const client = await this.pool.connect().catch((error: unknown) => {
      throw toDatabaseError(error, this.target.databaseUrl);
    });
    try {
      await client.query('begin');
      const result = await work(async (text, values = []) => (await client.query(text, values)).rows);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw toDatabaseError(error, this.target.databaseUrl);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    const nats = this.natsConnection;
    this.natsConnection = undefined;
    this.manager = undefined;
    const pool = this.pool;
    this.pool = undefined;
    await Promise.allSettled([nats?.then((nc) => nc.close()), pool?.end()]);
  }

  private createPool(): Pool {
    const pool = new Pool({
      connectionString: this.target.databaseUrl,
      max: 2,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      application_name: 'notebooks-ops',
    });
    pool.on('error', () => undefined); // an idle connection the server closed is replaced on next use
    return pool;
  }
}

function describeNatsError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED|connection refused/i.test(message)) return 'connection refused';
  return message;
}

const POSTGRES_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  ETIMEDOUT: 'timed out',
  '28P01': 'password authentication failed',
  '28000': 'the role may not log in',
  '57P03': 'the server is starting up or shutting down',
};

function toDatabaseError(error: unknown, url: string): unknown {
  if (error instanceof OpsError) return error;
  const code = String((error as { code?: unknown }).code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  if (code === '3D000') return new Unreachable(`Postgres at ${redact(url)}: ${message} (has \`npm start\` created it?)`);
  const reason = POSTGRES_REASONS[code] ?? (/timeout|terminated/i.test(message) ? message : undefined);
  if (reason || code.startsWith('08') || (error as Error).name === 'AggregateError') {
    return new Unreachable(`Postgres at ${redact(url)} is unreachable: ${reason ?? (message || code)}`);
  }
  return error;
}
