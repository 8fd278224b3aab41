import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer } from '../nats-server';
import { startPostgres } from '../postgres-server';

interface PrivateInfra {
  stops: (() => Promise<void>)[];
  dir: string;
}

declare global {
  var __NOTEBOOKS_TEST_INFRA__: PrivateInfra | undefined;
}

/**
 * Starts a private NATS (JetStream) and Postgres for the whole test run, unless NATS_URL /
 * DATABASE_URL name servers to use. Workers inherit the URLs through the environment; each test
 * file then isolates itself (its own database and NATS namespace, see `createTestInfra`).
 */
export default async function globalSetup(): Promise<void> {
  if (globalThis.__NOTEBOOKS_TEST_INFRA__) return;
  const dir = mkdtempSync(join(tmpdir(), 'notebooks-test-'));
  chmodSync(dir, 0o755); // Postgres runs as its own user when we are root
  const infra: PrivateInfra = { stops: [], dir };
  globalThis.__NOTEBOOKS_TEST_INFRA__ = infra;
  infra.stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  // Each server's stop is registered as soon as it runs: jest skips the teardown when setup fails.
  const started = await Promise.allSettled([
    process.env.NATS_URL
      ? undefined
      : startNatsServer({ storeDir: join(dir, 'nats') }).then((nats) => {
          infra.stops.unshift(nats.stop);
          process.env.NATS_URL = nats.url;
        }),
    process.env.DATABASE_URL
      ? undefined
      : startPostgres({ dataDir: join(dir, 'postgres'), durable: false }).then((postgres) => {
          infra.stops.unshift(postgres.stop);
          process.env.DATABASE_URL = postgres.url;
        }),
  ]);
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    for (const stop of infra.stops) await stop().catch(() => undefined);
    globalThis.__NOTEBOOKS_TEST_INFRA__ = undefined;
    throw failure.reason;
  }
}
