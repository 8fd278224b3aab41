import { startNatsServer, startPostgres } from '@notebooks/testing';
import { mkdirSync, mkdtempSync, chmodSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchContext, Scenario } from './scenario';
import { eventStoreAppend } from './scenarios/event-store-append';
import { execution } from './scenarios/execution';
import { memory } from './scenarios/memory';
import { notebookSize } from './scenarios/notebook-size';
import { readYourWrites } from './scenarios/read-your-writes';
import { realtime } from './scenarios/realtime';
import { replay } from './scenarios/replay';
import { search } from './scenarios/search';
import { timeTravel } from './scenarios/time-travel';
import { updateCell } from './scenarios/update-cell';

const SCENARIOS: Record<string, Scenario> = {
  'event-store-append': eventStoreAppend,
  'time-travel': timeTravel,
  replay,
  search,
  'update-cell': updateCell,
  'notebook-size': notebookSize,
  'read-your-writes': readYourWrites,
  execution,
  memory,
  realtime,
};

const HELP = `npm run bench -- [options]

Runs each benchmark scenario for a bounded time on private NATS/Postgres (or NATS_URL /
DATABASE_URL) and prints every figure next to its reference measured in the same run.

Options:
  --only <name>        run one scenario (${Object.keys(SCENARIOS).join(', ')})
  --seconds <n>        seconds per measurement (default 3)
  --max-ops <n>        operations per measurement at most (default 200000)
  --concurrency <list> comma-separated worker counts (default 1,8,32)
  --subscribers <n>    realtime: graphql-ws subscribers on one notebook (default 2000)
  --edits-per-second <n> realtime: edits a second while they listen (default 50)
  --out <dir>          where the JSON report goes (default bench-results)
  --help`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      seconds: { type: 'string', default: '3' },
      'max-ops': { type: 'string', default: '200000' },
      concurrency: { type: 'string', default: '1,8,32' },
      subscribers: { type: 'string', default: '2000' },
      'edits-per-second': { type: 'string', default: '50' },
      out: { type: 'string', default: 'bench-results' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return console.log(HELP);
  const selected = values.only ? { [values.only]: SCENARIOS[values.only] } : SCENARIOS;
  if (values.only && !SCENARIOS[values.only]) throw new Error(`unknown scenario ${values.only}\n\n${HELP}`);

  const dir = mkdtempSync(join(tmpdir(), 'notebooks-bench-'));
  chmodSync(dir, 0o755);
  const stops: (() => Promise<void>)[] = [];
  try {
    const nats = process.env.NATS_URL ? undefined : await startNatsServer({ storeDir: join(dir, 'nats') });
    const postgres = process.env.DATABASE_URL ? undefined : await startPostgres({ dataDir: join(dir, 'pg'), durable: true });
    if (nats) stops.push(nats.stop);
    if (postgres) stops.push(postgres.stop);
    const context: BenchContext = {
      natsUrl: process.env.NATS_URL ?? nats?.url ?? '',
      databaseUrl: process.env.DATABASE_URL ?? postgres?.url ?? '',
      concurrencies: values.concurrency.split(',').map(Number),
      limits: { seconds: Number(values.seconds), maxOperations: Number(values['max-ops']) },
      subscribers: Number(values.subscribers),
      editsPerSecond: Number(values['edits-per-second']),
    };
    console.log(`machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`);
    const report: Record<string, unknown> = { at: new Date().toISOString(), cores: cpus().length, node: process.version };
    for (const [name, scenario] of Object.entries(selected)) {
      if (!scenario) continue;
      const result = await scenario(context);
      console.log(`\n${result.title}`);
      console.table(result.rows);
      report[name] = result.figures;
    }
    mkdirSync(values.out, { recursive: true });
    const file = join(values.out, `bench-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2));
    console.log(`\nfigures written to ${file}`);
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
