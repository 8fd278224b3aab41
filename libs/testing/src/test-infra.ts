import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kysely, PostgresDialect } from 'kysely';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';

/** What one test file gets: real servers, and names no other test file uses. */
export interface TestInfra {
  natsUrl: string;
  /** Prefix of this file's streams, subjects and consumers (see `qualifySubject`). */
  namespace: string;
  /** A database of this file's own on the test Postgres. */
  databaseUrl: string;
  /** A NATS connection closed by {@link TestInfra.dispose}. */
  connectNats(): Promise<NatsConnection>;
  /** A Kysely instance on this file's database, destroyed by {@link TestInfra.dispose}. */
  database<DB = unknown>(): Kysely<DB>;
  /** The environment a service under test needs to use this file's servers and names. */
  serviceEnv(extra?: Record<string, string>): Record<string, string>;
  /** Closes connections, deletes this file's streams and drops its database. */
  dispose(): Promise<void>;
}

function requiredEnv(name: 'NATS_URL' | 'DATABASE_URL'): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run tests through jest (its global setup starts private servers) or set ${name}.`);
  }
  return value;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Call in `beforeAll`; call `dispose()` in `afterAll`. */
export async function createTestInfra(): Promise<TestInfra> {
  const natsUrl = requiredEnv('NATS_URL');
  const adminUrl = requiredEnv('DATABASE_URL');
  const namespace = `t${randomBytes(5).toString('hex')}`;
  const admin = new Pool({ connectionString: adminUrl, max: 1 });
  admin.on('error', () => undefined);
  await admin.query(`CREATE DATABASE "${namespace}" TEMPLATE template0`);
  const databaseUrl = withDatabase(adminUrl, namespace);

  const connections: NatsConnection[] = [];
  const databases: Kysely<unknown>[] = [];

  return {
    natsUrl,
    namespace,
    databaseUrl,
    async connectNats() {
      const connection = await connect({ servers: natsUrl, name: `test-${namespace}` });
      connections.push(connection);
      return connection;
    },
    database<DB>() {
      const pool = new Pool({ connectionString: databaseUrl, max: 5 });
      pool.on('error', () => undefined); // connections are cut when the database is dropped
      const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
      databases.push(db as Kysely<unknown>);
      return db;
    },
    serviceEnv(extra = {}) {
      return {
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        NATS_URL: natsUrl,
        NATS_NAMESPACE: namespace,
        DATABASE_URL: databaseUrl,
        ...extra,
      };
    },
    async dispose() {
      try {
        const cleanup = await connect({ servers: natsUrl });
        try {
          const jsm = await jetstreamManager(cleanup);
          for await (const stream of jsm.streams.list()) {
            if (stream.config.name.startsWith(`${namespace}_`) || stream.config.name.startsWith(`KV_${namespace}_`)) {
              await jsm.streams.delete(stream.config.name);
            }
          }
        } finally {
          await cleanup.close();
        }
      } finally {
        await Promise.allSettled(connections.map((c) => c.close()));
        await Promise.allSettled(databases.map((db) => db.destroy()));
        await admin.query(`DROP DATABASE IF EXISTS "${namespace}" WITH (FORCE)`).finally(() => admin.end());
      }
    },
  };
}
