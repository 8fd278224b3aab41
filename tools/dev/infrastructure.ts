import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Client } from 'pg';
import {
  findExecutable,
  NATS_SERVER_MISSING,
  POSTGRES_MISSING,
  postgresBinDirs,
  startNatsServer,
  startPostgres,
  type RunningNatsServer,
  type RunningPostgres,
} from '@notebooks/testing';
import { join } from 'node:path';

export interface Infrastructure {
  natsUrl: string;
  databaseUrl: string;
  /** What the runner started itself (and stops on exit). */
  started: { name: string; url: string; stop: () => Promise<void> }[];
}

const DATABASE = 'notebooks';

/**
 * NATS and Postgres for the local platform: the configured ones (NATS_URL, DATABASE_URL), or
 * private ones with their data under `dataDir`, installed from Debian's packages when missing.
 */
export async function provideInfrastructure(dataDir: string, log: (line: string) => void): Promise<Infrastructure> {
  const started: Infrastructure['started'] = [];
  ensureInstalled(!process.env.NATS_URL, !process.env.DATABASE_URL, log);

  let natsUrl = process.env.NATS_URL;
  if (!natsUrl) {
    const nats: RunningNatsServer = await startNatsServer({ storeDir: join(dataDir, 'nats'), port: 4222 });
    started.push({ name: 'nats-server', url: nats.url, stop: nats.stop });
    natsUrl = nats.url;
  }

  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const postgres: RunningPostgres = await startPostgres({ dataDir: join(dataDir, 'postgres'), port: 5432, durable: true });
    started.push({ name: 'postgres', url: postgres.url, stop: postgres.stop });
    await createDatabaseIfMissing(postgres.url, DATABASE);
    const url = new URL(postgres.url);
    url.pathname = `/${DATABASE}`;
    databaseUrl = url.toString();
  }
  return { natsUrl, databaseUrl, started };
}

async function createDatabaseIfMissing(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
}

function ensureInstalled(needNats: boolean, needPostgres: boolean, log: (line: string) => void): void {
  const packages = [
    ...(needNats && !findExecutable('nats-server') ? ['nats-server'] : []),
    ...(needPostgres && !findExecutable('initdb', postgresBinDirs()) ? ['postgresql'] : []),
  ];
  if (packages.length === 0) return;
  const canApt = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (!canApt) {
    throw new Error(
      [packages.includes('nats-server') ? NATS_SERVER_MISSING : '', packages.includes('postgresql') ? POSTGRES_MISSING : '']
        .filter(Boolean)
        .join('\n'),
    );
  }
  log(`installing ${packages.join(' and ')} from Debian's packages (apt-get)…`);
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...packages]]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed; install ${packages.join(' ')} by hand`);
  }
}
