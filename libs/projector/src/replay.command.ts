import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamEventStore } from '@notebooks/event-store';
import { ConfigError, loadConfig, migrateToLatest, type PlatformConfig } from '@notebooks/platform';
import { SingleBar } from 'cli-progress';
import { Kysely, PostgresDialect } from 'kysely';
import { parseArgs } from 'node:util';
import { Pool } from 'pg';
import type { z } from 'zod';
import type { ProjectionDefinition } from './projector';
import { ReplayAborted, ReplayAlreadyRunning, replayProjection, type ReplayProgress, type ReplayStatus } from './replay';

/** sysexits: bad usage, another replay of the projection holds its lock, bad configuration. */
export const ReplayExitCode = { ok: 0, failed: 1, usage: 64, alreadyRunning: 75, config: 78 } as const;

/** What one service's `replay` command rebuilds, and how it connects (as the service itself would). */
export interface ReplayCommandOptions<DB> {
  /** The service's projections: the ones this command can replay. */
  projections: readonly ProjectionDefinition<DB>[];
  /** The service's environment schema (`NATS_URL`, `DATABASE_URL`, …). */
  env: z.ZodType<PlatformConfig>;
  /** The service's migrations: applied first, so the live tables are current. */
  migrationsFolder: string;
}

/** One line, whatever the message holds. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}

class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface Arguments<DB> {
  projection: ProjectionDefinition<DB>;
  fresh: boolean;
  batchSize: number | undefined;
}

function usage(projections: readonly ProjectionDefinition<unknown>[], long: boolean): string {
  const names = projections.map((p) => p.name).join(', ');
  if (!long) return `usage: replay <projection> [--fresh] [--batch-size <commits>]; projections: ${names}`;
  return `usage: replay <projection> [--fresh] [--batch-size <commits>]
  Rebuilds a projection from the start of its stream into staging tables while the live one keeps
  serving, then swaps them in. An interrupted replay resumes where it stopped; --fresh starts over.
  projections: ${names}`;
}

function parseArguments<DB>(projections: readonly ProjectionDefinition<DB>[], argv: string[]): Arguments<DB> | 'help' {
  const shortUsage = usage(projections as readonly ProjectionDefinition<unknown>[], false);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { fresh: { type: 'boolean', default: false }, 'batch-size': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    });
  } catch (error) {
    throw new CommandError(`${(error as Error).message} (${shortUsage})`, ReplayExitCode.usage);
  }
  if (parsed.values.help) return 'help';
  if (parsed.positionals.length !== 1) throw new CommandError(`name one projection to replay (${shortUsage})`, ReplayExitCode.usage);
  const name = parsed.positionals[0];
  const projection = projections.find((p) => p.name === name);
  if (!projection) {
    throw new CommandError(`unknown projection "${name}"; known projections: ${projections.map((p) => p.name).join(', ')}`, ReplayExitCode.usage);
  }
  const batchSize = parsed.values['batch-size'] === undefined ? undefined : Number(parsed.values['batch-size']);
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 10_000)) {
    throw new CommandError(`--batch-size must be a whole number from 1 to 10000 (got "${parsed.values['batch-size']}")`, ReplayExitCode.usage);
  }
  return { projection, fresh: parsed.values.fresh, batchSize };
}

/** Shows progress: a bar on a terminal, a plain line every few seconds otherwise, nothing when quiet. */
class ProgressDisplay {
  private bar: SingleBar | undefined;
  private lastLine = 0;

  constructor(
    private readonly projection: string,
    private readonly out: NodeJS.WriteStream,
    private readonly quiet: boolean,
    private readonly lineEveryMs = 2_000,
  ) {}

  say(message: string): void {
    if (this.quiet) return;
    this.stop(); // the next progress draws a new bar below the message
    this.out.write(`${this.projection}: ${message}\n`);
  }

  status(status: ReplayStatus): void {
    switch (status.type) {
      case 'started':
        return this.say(
          status.resumedFrom > 0
            ? `resuming the interrupted replay at sequence ${status.resumedFrom} of ${status.head} (staging schema ${status.staging})`
            : `replaying ${status.head} commits from sequence 1 into staging schema ${status.staging}`,
        );
      case 'restarted':
        return this.say(`starting over: ${status.reason}`);
      case 'swap-postponed':
        return this.say(`swap postponed, the live tables are busy (${oneLine(status.reason)}); trying again shortly`);
      case 'swapped':
        return this.say(`swapped the rebuilt tables in at sequence ${status.sequence}`);
    }
  }

  progress(progress: ReplayProgress): void {
    if (this.quiet) return;
    const eta = progress.etaSeconds === null ? '?' : `${Math.ceil(progress.etaSeconds)} s`;
    const payload = { phase: progress.phase, rate: Math.round(progress.eventsPerSecond), etaText: eta };
    if (this.out.isTTY) {
      if (!this.bar) {
        this.bar = new SingleBar({
          stream: this.out,
          format: `${this.projection} [{bar}] {percentage}% | sequence {value}/{total} | {rate} events/s | eta {etaText} | {phase}`,
          hideCursor: true,
          fps: 5,
        });
        this.bar.start(progress.head, progress.sequence, payload);
      }
      this.bar.setTotal(progress.head);
      this.bar.update(progress.sequence, payload);
      return;
    }
    const now = Date.now();
    if (now - this.lastLine < this.lineEveryMs && progress.sequence < progress.head) return;
    this.lastLine = now;
    const percent = progress.head === 0 ? 100 : Math.floor((100 * progress.sequence) / progress.head);
    this.out.write(
      `${this.projection}: ${progress.phase} sequence ${progress.sequence}/${progress.head} (${percent}%), ${progress.applied} applied, ` +
        `${payload.rate} events/s, eta ${eta}\n`,
    );
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/**
 * `replay <projection> [--fresh]` of one service: what `ops replay` runs. Exit 0 once swapped in; 75
 * when another replay of the projection is running; 64 on bad usage; 78 on bad configuration;
 * 130/143 when interrupted (it resumes when started again); 1 otherwise — with a one-line reason on
 * stderr.
 */
export async function runReplayCommand<DB>(
  options: ReplayCommandOptions<DB>,
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const started = Date.now();
  let args: Arguments<DB> | 'help';
  try {
    args = parseArguments(options.projections, argv);
  } catch (error) {
    process.stderr.write(`${oneLine((error as Error).message)}\n`);
    return (error as CommandError).exitCode;
  }
  if (args === 'help') {
    process.stdout.write(`${usage(options.projections as readonly ProjectionDefinition<unknown>[], true)}\n`);
    return ReplayExitCode.ok;
  }
  const { projection } = args;

  let config;
  try {
    config = loadConfig(`replay ${projection.name}`, options.env, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`invalid configuration: ${error.problems.map((p) => `${p.variable}: ${p.message}`).join('; ')}\n`);
    return ReplayExitCode.config;
  }

  const display = new ProgressDisplay(projection.name, process.stdout, ['silent', 'fatal', 'error'].includes(config.LOG_LEVEL));
  const stop = new AbortController();
  const signals: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };
  let interruptedWith = 0;
  for (const [signal, code] of Object.entries(signals)) {
    process.on(signal, () => {
      if (interruptedWith) process.exit(code); // a second one: stop at once (the last batch rolls back)
      interruptedWith = code;
      display.say(`${signal}: stopping after the batch in hand`);
      stop.abort();
    });
  }

  const pool = new Pool({ connectionString: config.DATABASE_URL, max: Math.max(4, config.DATABASE_POOL_MAX), application_name: `replay ${projection.name}` });
  pool.on('error', () => undefined); // an idle connection lost: the next query reports it
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  let nats: NatsConnection | undefined;
  try {
    await migrateToLatest(db as Kysely<unknown>, projection.schema, options.migrationsFolder);
    nats = await connect({ servers: config.NATS_URL.split(',').map((s) => s.trim()), name: `replay ${projection.name}`, timeout: 10_000 });
    const store = await JetStreamEventStore.create(nats, { namespace: config.NATS_NAMESPACE });
    const result = await replayProjection({
      projection,
      store,
      db,
      fresh: args.fresh,
      batchSize: args.batchSize,
      signal: stop.signal,
      onProgress: (progress) => display.progress(progress),
      onStatus: (status) => display.status(status),
    });
    display.say(
      `done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.applied} commits applied by this run` +
        `${result.resumedFrom > 0 ? ` (resumed at ${result.resumedFrom})` : ''}, ${result.parked} parked; the live tables are at sequence ${result.sequence}`,
    );
    return ReplayExitCode.ok;
  } catch (error) {
    display.stop();
    if (error instanceof ReplayAlreadyRunning) {
      process.stderr.write(`${error.message}\n`);
      return ReplayExitCode.alreadyRunning;
    }
    if (error instanceof ReplayAborted) {
      process.stderr.write(`interrupted: ${error.message}\n`);
      return interruptedWith || ReplayExitCode.failed;
    }
    process.stderr.write(`replay of ${projection.name} failed: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
    return ReplayExitCode.failed;
  } finally {
    display.stop();
    await nats?.close().catch(() => undefined);
    await db.destroy().catch(() => undefined);
  }
}

/** A service's `replay.ts` run as a program: runs the command on the process's arguments and exits with its code. */
export function runReplayProgram<DB>(options: ReplayCommandOptions<DB>): void {
  void runReplayCommand(options, process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`replay failed: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
      process.exit(ReplayExitCode.failed);
    },
  );
}
