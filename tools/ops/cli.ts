import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { Connections, resolveTarget, type TargetOptions } from './connections';
import type { OpsContext } from './context';
import { discardCommand, listCommand, retryCommand, type DeadLetterSelection } from './dead-letters.command';
import { OpsError, UsageError } from './errors';
import { healthCommand } from './health.command';
import { lagCommand } from './lag.command';
import { metricsCommand } from './metrics.command';
import { describeError, type Output } from './output';
import { projectionsCommand } from './projections.command';
import { replayCommand } from './replay.command';
import { watchCommand } from './watch.command';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  stdout?: { write(text: string): unknown; isTTY?: boolean };
  stderr?: { write(text: string): unknown };
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
  /** The replay script to run instead of the owning service's (tests). */
  replayScript?: string;
}

/** EX_USAGE from sysexits.h: the command line was wrong. */
const USAGE = 64;
const INTERRUPTED = 130;

interface GlobalOptions extends TargetOptions {
  json?: boolean;
  color?: boolean;
}

interface SelectionOptions {
  projection?: string;
  id?: number[];
  sequence?: number[];
  aggregate?: string;
  all?: boolean;
}

/** `--sequence 3 4`, `--sequence 3,4` and repeated options all add up. */
function positiveIntegers(value: string, previous: number[] = []): number[] {
  const parsed = value.split(',').filter(Boolean).map(Number);
  if (parsed.length === 0 || parsed.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new InvalidArgumentError('expected positive integers');
  return [...previous, ...parsed];
}

function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('expected a positive number');
  return parsed;
}

function selection(options: SelectionOptions): DeadLetterSelection {
  return {
    ...(options.projection && { projection: options.projection }),
    ...(options.id && { ids: options.id }),
    ...(options.sequence && { sequences: options.sequence }),
    ...(options.aggregate && { aggregate: options.aggregate }),
    ...(options.all && { all: true }),
  };
}

/**
 * Runs the ops CLI on `argv` (without node and script) and answers the exit code: 0 fine, 1 something
 * is unhealthy or failed, 64 a wrong command line, 69 a server that cannot be reached, 130 interrupted.
 */
export async function run(argv: string[], options: RunOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const signal = options.signal ?? new AbortController().signal;
  let exitCode = 0;
  let active: Command | undefined;

  const program = new Command('npm run ops --')
    .description('Operate the notebooks platform: health, projections, consumer lag, dead letters, replay, metrics.')
    .option('--nats <url>', 'NATS server (default: NATS_URL, the running `npm start`, or nats://127.0.0.1:4222)')
    .option('--database <url>', 'Postgres (default: DATABASE_URL, the running `npm start`, or postgres://postgres@127.0.0.1:5432/notebooks)')
    .option('--namespace <name>', 'prefix of streams, subjects and consumers (default: NATS_NAMESPACE)')
    .option('--platform-file <path>', 'URLs of a running `npm start` (default: $DATA_DIR/platform.json or .data/platform.json)')
    .option('--json', 'print machine-readable JSON')
    .option('--no-color', 'no colors even on a terminal')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: (text) => stdout.write(text), writeErr: (text) => stderr.write(text) })
    .addHelpText(
      'after',
      `
Exit codes: 0 fine, 1 something is unhealthy or failed, 64 wrong arguments, 69 NATS or Postgres unreachable.
Examples:
  npm run ops -- health
  npm run ops -- dead-letters --projection read-notebooks
  npm run ops -- dead-letters retry --projection read-notebooks --sequence 42
  npm run ops -- replay read-notebooks --fresh`,
    );

  /** Wraps an action: builds its context, closes connections after it, and stops on Ctrl-C unless it handles that itself. */
  const action =
    <A extends unknown[]>(work: (context: OpsContext, ...args: A) => Promise<number>, { ownsInterrupt = false } = {}) =>
    async (...args: [...A, Command]) => {
      const command = args.at(-1) as Command;
      active = command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      const target = resolveTarget(globals, env);
      const output: Output = {
        color: globals.color !== false && stdout.isTTY === true && env['NO_COLOR'] === undefined,
        json: globals.json === true,
        line: (text = '') => stdout.write(`${text}\n`),
        error: (text) => stderr.write(`${text}\n`),
      };
      for (const note of target.notes) output.error(`note: ${note}`);
      const connections = new Connections(target);
      try {
        const pending = work({ target, connections, output, signal }, ...(args.slice(0, -1) as A));
        if (ownsInterrupt) exitCode = await pending;
        else {
          pending.catch(() => undefined); // an interrupted command's late failure is not news
          exitCode = await Promise.race([pending, aborted(signal).then(() => INTERRUPTED)]);
        }
      } finally {
        await connections.close();
      }
    };

  program
    .command('health')
    .description("every service's /health/ready, NATS with JetStream, Postgres and the event streams; exit 1 if anything is down")
    .action(action((context) => healthCommand(context)));

  program
    .command('projections')
    .description('every projection: checkpoint, stream head, lag of its consumer, dead letters, last update')
    .action(action((context) => projectionsCommand(context)));

  program
    .command('lag')
    .description('every durable consumer of the event streams: pending, ack pending, redelivered')
    .action(action((context) => lagCommand(context)));

  program
    .command('metrics')
    .description("request latency quantiles and projection gauges from each service's /metrics")
    .argument('[service]', 'one service (default: all)')
    .action(action((context, service: string | undefined) => metricsCommand(context, service)));

  program
    .command('watch')
    .description('health, projections and consumers, redrawn until Ctrl-C')
    .option('--interval <seconds>', 'seconds between refreshes', positiveNumber, 2)
    .action(action((context, options: { interval: number }) => watchCommand(context, options.interval * 1000), { ownsInterrupt: true }));

  program
    .command('replay')
    .description("rebuild a projection from the start of its stream (runs the replay of the service that owns it)")
    .argument('<projection>', 'projection name, e.g. read-notebooks (projection-service) or search-documents (search-service)')
    .option('--fresh', 'drop what an interrupted replay left and start over')
    .action(
      action((context, projection: string, opts: { fresh?: boolean }) =>
        replayCommand(context, projection, { fresh: opts.fresh === true, ...(options.replayScript && { script: options.replayScript }) }, env),
      { ownsInterrupt: true }),
    );

  const deadLetters = program
    .command('dead-letters')
    .description('commits a projection could not apply: list (default), retry, discard');
  const projectionOption = () => new Option('--projection <name>', 'only this projection');
  const aggregateOption = () => new Option('--aggregate <id>', "only this aggregate's commits");
  const idOption = () => new Option('--id <ids...>', 'dead letters by id (as listed)').argParser(positiveIntegers);
  const sequenceOption = () => new Option('--sequence <sequences...>', 'dead letters by stream sequence (with --projection)').argParser(positiveIntegers);
  deadLetters
    .command('list', { isDefault: true })
    .description('parked commits: projection, stream sequence, aggregate, attempts, error')
    .addOption(projectionOption())
    .addOption(aggregateOption())
    .option('--limit <n>', 'show at most n', (v) => positiveIntegers(v)[0] ?? 100, 100)
    .action(action((context, opts: SelectionOptions & { limit: number }) => listCommand(context, selection(opts), opts.limit)));
  deadLetters
    .command('retry')
    .description('ask the service running the projection to re-apply parked commits, oldest first per aggregate')
    .addOption(projectionOption())
    .addOption(idOption())
    .addOption(sequenceOption())
    .addOption(aggregateOption())
    .option('--all', 'every parked commit (of --projection, or of every projection)')
    .option('--timeout <seconds>', 'how long to wait for the answer', positiveNumber, 60)
    .action(action((context, opts: SelectionOptions & { timeout: number }) => retryCommand(context, selection(opts), opts.timeout * 1000)));
  deadLetters
    .command('discard')
    .description('delete parked commits for good (needs --id, --sequence, --aggregate or --all)')
    .addOption(projectionOption())
    .addOption(idOption())
    .addOption(sequenceOption())
    .addOption(aggregateOption())
    .option('--all', 'every parked commit (of --projection, or of every projection)')
    .action(action((context, opts: SelectionOptions) => discardCommand(context, selection(opts))));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : USAGE;
    }
    if (error instanceof UsageError) {
      stderr.write(`error: ${error.message}\n\n${(active ?? program).helpInformation()}`);
      return USAGE;
    }
    if (error instanceof OpsError) {
      stderr.write(`ops: ${error.message}\n`);
      return error.exitCode;
    }
    stderr.write(`ops: ${describeError(error)}\n`);
    if (env['OPS_DEBUG'] && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
    return 1;
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}
