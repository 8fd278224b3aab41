import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startServices, type RunningServices, type ServiceName } from '@notebooks/testing';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Pool } from 'pg';
import type { BenchContext } from './scenario';

/** What serves a notebook edit end to end. */
export const PLATFORM_SERVICES: ServiceName[] = ['auth-service', 'notebook-service', 'projection-service', 'gateway'];

/** Only what the write path answers: `notebook` would wait for the read model. */
const CHANGE_FIELDS = '{ notebookId version cellId }';

export interface BenchNotebook {
  notebookId: string;
  cellId: string;
}

export interface NotebookChange {
  notebookId: string;
  version: number;
  cellId: string | null;
}

/**
 * auth-service, notebook-service, projection-service and gateway on the bench's servers, in a
 * namespace and a database of their own, with one registered user; `stop()` removes both.
 */
export interface Platform {
  namespace: string;
  databaseUrl: string;
  gateway: string;
  services: RunningServices;
  user: { id: string; headers: Record<string, string> };
  /** Runs a GraphQL operation as the user; throws on an error. */
  graphql<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** `count` notebooks of one cell each, one after another. */
  createNotebooks(count: number): Promise<BenchNotebook[]>;
  updateCell(notebookId: string, cellId: string, value: string): Promise<NotebookChange>;
  /** Resident memory (VmRSS) of each service process, in MiB. */
  residentMiB(): Partial<Record<ServiceName, number>>;
  stop(): Promise<void>;
}

/** `extra`: services to run besides {@link PLATFORM_SERVICES} (e.g. execution-service). */
export async function startPlatform(context: BenchContext, extra: ServiceName[] = []): Promise<Platform> {
  const namespace = `bench${randomUUID().slice(0, 8)}`;
  const database = `bench_${namespace}`;
  const admin = new Pool({ connectionString: context.databaseUrl, max: 1 });
  await admin.query(`create database ${database}`);
  const url = new URL(context.databaseUrl);
  url.pathname = `/${database}`;
  const databaseUrl = url.toString();
  const dispose = async () => {
    await removeStreams(context.natsUrl, namespace);
    await admin.query(`drop database if exists ${database} with (force)`).finally(() => admin.end());
  };

  let services: RunningServices;
  try {
    const jwtKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    services = await startServices(
      [...PLATFORM_SERVICES, ...extra],
      { NODE_ENV: 'production', LOG_LEVEL: 'warn', HOST: '127.0.0.1', NATS_URL: context.natsUrl, NATS_NAMESPACE: namespace, DATABASE_URL: databaseUrl },
      { 'auth-service': { JWT_PRIVATE_KEY: jwtKey, JWT_KEY_ID: namespace } },
    );
  } catch (error) {
    await dispose();
    throw error;
  }
  const gateway = services.url('gateway');
  const post = async <T>(query: string, variables: Record<string, unknown>, headers: Record<string, string>): Promise<T> => {
    const response = await fetch(`${gateway}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(30_000),
    });
    const json = (await response.json()) as { data?: T; errors?: unknown };
    if (json.errors || !json.data) throw new Error(JSON.stringify(json.errors ?? response.status));
    return json.data;
  };

  try {
    const email = `bench.${randomUUID().slice(0, 8)}@example.com`;
    const { register } = await post<{ register: { accessToken: string; user: { id: string } } }>(
      'mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }',
      { input: { email, password: 'correct horse battery', displayName: 'Bench' } },
      {},
    );
    const user = { id: register.user.id, headers: { authorization: `Bearer ${register.accessToken}` } };
    const graphql = <T>(query: string, variables: Record<string, unknown> = {}) => post<T>(query, variables, user.headers);
    const createNotebookWithCell = async (title: string): Promise<BenchNotebook> => {
      const { created } = await graphql<{ created: NotebookChange }>(`mutation($input: CreateNotebookInput!) { created: createNotebook(input: $input) ${CHANGE_FIELDS} }`, {
        input: { title },
      });
      const { added } = await graphql<{ added: NotebookChange }>(`mutation($id: ID!, $input: AddCellInput!) { added: addCell(notebookId: $id, input: $input) ${CHANGE_FIELDS} }`, {
        id: created.notebookId,
        input: { value: 'x = 1' },
      });
      return { notebookId: created.notebookId, cellId: added.cellId ?? '' };
    };
    return {
      namespace,
      databaseUrl,
      gateway,
      services,
      user,
      graphql,
      async createNotebooks(count) {
        const notebooks: BenchNotebook[] = [];
        for (let i = 0; i < count; i++) notebooks.push(await createNotebookWithCell(`Bench ${i}`));
        return notebooks;
      },
      async updateCell(notebookId, cellId, value) {
        const { updated } = await graphql<{ updated: NotebookChange }>(
          `mutation($id: ID!, $cell: ID!, $input: UpdateCellInput!) { updated: updateCell(notebookId: $id, cellId: $cell, input: $input) ${CHANGE_FIELDS} }`,
          { id: notebookId, cell: cellId, input: { value } },
        );
        return updated;
      },
      residentMiB: () => residentMiB(PLATFORM_SERVICES),
      async stop() {
        await services.stop();
        await dispose();
      },
    };
  } catch (error) {
    await services.stop();
    await dispose();
    throw error;
  }
}

/**
 * VmRSS of this process's children running `apps/<name>/src/main.ts` (RunningServices does not
 * expose pids; startServices spawns each service as a direct child).
 */
export function residentMiB(names: ServiceName[]): Partial<Record<ServiceName, number>> {
  const found: Partial<Record<ServiceName, number>> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parentPid !== process.pid) continue;
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const name = names.find((n) => commandLine.includes(`apps/${n}/src/main.ts`));
      const kilobytes = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (name && kilobytes) found[name] = Math.round(Number(kilobytes) / 1024);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Deletes the namespace's streams and key-value buckets. */
async function removeStreams(natsUrl: string, namespace: string): Promise<void> {
  const connection = await connect({ servers: natsUrl, name: 'bench-cleanup' });
  try {
    const jsm = await jetstreamManager(connection);
    const names: string[] = [];
    for await (const stream of jsm.streams.list()) names.push(stream.config.name);
    for (const name of names.filter((n) => n.startsWith(`${namespace}_`) || n.startsWith(`KV_${namespace}_`))) await jsm.streams.delete(name);
  } finally {
    await connection.close();
  }
}
