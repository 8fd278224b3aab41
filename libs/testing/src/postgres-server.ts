import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { findExecutable, freePort, ManagedProcess, postgresBinDirs, systemUser, waitUntilReady } from './processes';

export interface PostgresServerOptions {
  /** The cluster's data folder; an existing cluster there is started as it is. */
  dataDir: string;
  port?: number;
  /** Off for throw-away test clusters: no fsync, much faster. */
  durable: boolean;
}

export interface RunningPostgres {
  /** URL of the `postgres` database as superuser `postgres` (trust auth on loopback). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const POSTGRES_MISSING =
  'Postgres server binaries (initdb, postgres) were not found. On Debian install them with `apt-get install -y postgresql`, or set DATABASE_URL to a running Postgres.';

/**
 * Starts a private Postgres cluster on loopback. Postgres refuses to run as root, so as root the
 * cluster is owned by and runs as the `postgres` system user.
 */
export async function startPostgres(options: PostgresServerOptions): Promise<RunningPostgres> {
  const dirs = postgresBinDirs();
  const initdb = findExecutable('initdb', dirs);
  const postgres = findExecutable('postgres', dirs);
  if (!initdb || !postgres) throw new Error(POSTGRES_MISSING);

  const asUser = process.getuid?.() === 0 ? systemUser('postgres') : undefined;
  if (process.getuid?.() === 0 && !asUser) {
    throw new Error('Running as root, Postgres needs an unprivileged `postgres` user: `apt-get install -y postgresql` creates it.');
  }
  const ownership = asUser ? { uid: asUser.uid, gid: asUser.gid } : {};

  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  if (asUser) {
    chownSync(options.dataDir, asUser.uid, asUser.gid);
    const reachable = spawnSync('test', ['-x', options.dataDir], ownership);
    if (reachable.status !== 0) {
      throw new Error(`the postgres user cannot reach ${options.dataDir}: a parent folder is closed to other users`);
    }
  }
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) {
    const init = spawnSync(
      initdb,
      ['-D', options.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', ...(options.durable ? [] : ['--no-sync'])],
      { ...ownership, encoding: 'utf8' },
    );
    if (init.status !== 0) throw new Error(`initdb failed:\n${init.stderr || init.stdout}`);
    writeFileSync(join(options.dataDir, 'postgresql.auto.conf'), '', { flag: 'a' });
  }

  const port = await freePort(options.port);
  const args = [
    '-D', options.dataDir,
    '-p', String(port),
    '-h', '127.0.0.1',
    '-k', options.dataDir,
    '-c', 'max_connections=300',
    ...(options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
  ];
  const server = ManagedProcess.start('postgres', postgres, args, ownership);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitUntilReady(
    server,
    async () => {
      const client = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
      await client.connect();
      await client.end();
    },
    30_000,
  );
  // SIGINT is Postgres' "fast" shutdown: clients are disconnected, data is flushed.
  return { url, port, stop: () => server.stop('SIGINT', 30_000) };
}
