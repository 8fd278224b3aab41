import { NOTEBOOK_VERSION_CHANNEL, notebookVersionPayload } from '@notebooks/contracts';
import { createTestInfra, type TestInfra } from '@notebooks/testing';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { GatewayConfig } from '../service';
import type { NotebookReads } from './notebook-reads';
import { NotebookVersions } from './notebook-versions';

describe('NotebookVersions', () => {
  let infra: TestInfra;
  let notifier: Client;
  let versions: NotebookVersions;
  /** The read model as a port: the version each notebook is at, and how often it was asked. */
  const readModel = { at: new Map<string, number>(), asked: 0 };
  const reads = {
    version: async (id: string) => {
      readModel.asked++;
      return readModel.at.get(id) ?? 0;
    },
  };

  beforeAll(async () => {
    infra = await createTestInfra();
    notifier = new Client({ connectionString: infra.databaseUrl });
    await notifier.connect();
    const config = { DATABASE_URL: infra.databaseUrl, READ_YOUR_WRITES_TIMEOUT_MS: 1_000 } as GatewayConfig;
    versions = new NotebookVersions(reads as unknown as NotebookReads, config);
    versions.onModuleInit();
    // The listener connects in the background: wait until its LISTEN has run.
    const deadline = Date.now() + 5_000;
    const listening = async () =>
      (await notifier.query(`select 1 from pg_stat_activity where application_name = 'gateway-listener' and query like 'LISTEN%' and datname = current_database()`)).rowCount;
    while (!(await listening())) {
      if (Date.now() > deadline) throw new Error('the listener did not connect');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  afterAll(async () => {
    await versions.onApplicationShutdown();
    await notifier.end();
    await infra.dispose();
  });

  it('wakes a waiter as soon as the version it waits for is announced, not at the next re-check', async () => {
    const id = randomUUID();
    readModel.at.set(id, 1);
    readModel.asked = 0;
    const waiting = versions.reached(id, 3);
    await new Promise((resolve) => setTimeout(resolve, 30));
    readModel.at.set(id, 3);
    await notifier.query('select pg_notify($1, $2)', [NOTEBOOK_VERSION_CHANNEL, notebookVersionPayload(id, 3)]);
    const started = Date.now();
    expect(await waiting).toBe(true);
    // One look before waiting, one on the announcement: the 250 ms re-check never came.
    expect({ asked: readModel.asked, fast: Date.now() - started < 200 }).toEqual({ asked: 2, fast: true });
  });

  it('gives up after the bound when the version never comes', async () => {
    const id = randomUUID();
    const started = Date.now();
    expect(await versions.reached(id, 1)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });
});
