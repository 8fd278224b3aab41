import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { FromWorker, type ToWorker } from './protocol';
import { observableRuntimeSource } from './runtime-source';
import { failAll, type CellResult, type SandboxRequest } from './sandbox';
import { workerScript, type WorkerScript } from './worker-bundle';

export interface SandboxPoolOptions {
  /** Worker processes, each running one notebook at a time. */
  size: number;
  /** A worker whose resident memory exceeds this is killed (its run fails) and replaced. */
  workerMemoryBytes: number;
  /** A worker still busy this long after its run's deadline is killed (its run times out). */
  graceMs: number;
  /** Runs waiting for a worker beyond this are refused with {@link SandboxPoolSaturated}. */
  maxQueue: number;
  /** Told when a worker is killed, and why. */
  onKill?: (reason: KillReason) => void;
  /** Told how long a new worker took from spawn to ready. */
  onWorkerReady?: (startMs: number) => void;
  /** Told about a worker that died on its own or could not start. */
  onWorkerError?: (error: Error) => void;
}

export type KillReason = 'deadline' | 'memory';

/** Every worker is busy and the queue is full: try again later. */
export class SandboxPoolSaturated extends Error {
  constructor(queued: number) {
    super(`all sandbox workers are busy and ${queued} runs are waiting`);
    this.name = 'SandboxPoolSaturated';
  }
}

const MEMORY_CHECK_MS = 50;
const RESPAWN_BACKOFF_MS = [0, 100, 500, 2_000];
/** A worker that has grown this much since it started is replaced after its run, even if it could go on. */
const RECYCLE_GROWTH_BYTES = 256 * 1024 * 1024;
const PAGE_BYTES = 4096;

interface Job {
  request: SandboxRequest;
  explicit: boolean;
  resolve(results: CellResult[]): void;
}

/**
 * Worker processes that run notebooks in sandboxes. The service never runs cell code itself: it
 * hands a run to an idle worker and enforces the deadline and the memory cap from outside, by
 * killing the worker. Dead or retired workers are replaced; a run never fails the caller with an
 * exception — whatever happens to its worker becomes the cells' ERROR or TIMEOUT.
 */
export class SandboxPool {
  private readonly workers = new Set<SandboxWorker>();
  private readonly queue: Job[] = [];
  private stopping = false;
  private failedStarts = 0;

  constructor(private readonly options: SandboxPoolOptions) {}

  /** Starts the workers and waits until each can run. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.size }, () => this.spawn()));
  }

  /** Workers ready to run (idle or busy), busy ones, and runs waiting. */
  stats(): { workers: number; busy: number; queued: number } {
    const ready = [...this.workers].filter((worker) => worker.usable);
    return { workers: ready.length, busy: ready.filter((worker) => worker.busy).length, queued: this.queue.length };
  }

  /**
   * Runs in the next free worker. `refuseWhenSaturated`: throw {@link SandboxPoolSaturated} rather
   * than queue beyond `maxQueue` (for callers who can retry; background runs wait their turn).
   */
  run(request: SandboxRequest, refuseWhenSaturated = true): Promise<CellResult[]> {
    if (this.stopping) return Promise.resolve(failAll(request.observe, 'ERROR', 'execution-service is shutting down'));
    if (refuseWhenSaturated && !this.hasIdleWorker()) {
      // Only runs that could be refused count: background runs must not crowd callers out.
      const waiting = this.queue.filter((job) => job.explicit).length;
      if (waiting >= this.options.maxQueue) return Promise.reject(new SandboxPoolSaturated(waiting));
    }
    return new Promise((resolvePromise) => {
      this.queue.push({ request, explicit: refuseWhenSaturated, resolve: resolvePromise });
      this.dispatch();
    });
  }

  /** Lets runs in flight finish (each is bounded by its deadline), then stops every worker. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const job of this.queue.splice(0)) job.resolve(failAll(job.request.observe, 'ERROR', 'execution-service is shutting down'));
    await Promise.all([...this.workers].map((worker) => worker.stop()));
  }

  private hasIdleWorker(): boolean {
    return [...this.workers].some((worker) => worker.idle);
  }

  private dispatch(): void {
    for (const worker of this.workers) {
      const job = worker.idle ? this.queue.shift() : undefined;
      if (!job) continue;
      void worker
        .run(job.request)
        .catch((error: unknown) => failAll(job.request.observe, 'ERROR', `the run could not be handed to a sandbox: ${error instanceof Error ? error.message : String(error)}`))
        .then(async (results) => {
          job.resolve(results);
          await this.afterRun(worker);
        });
    }
  }

  /** A worker that grew a lot is replaced before it runs anything else; then the queue moves on. */
  private async afterRun(worker: SandboxWorker): Promise<void> {
    if (worker.alive) {
      worker.checking = true;
      const grown = await worker.grownBy();
      worker.checking = false;
      if (grown > RECYCLE_GROWTH_BYTES) await worker.stop();
    }
    this.dispatch();
  }

  private async spawn(): Promise<void> {
    if (this.stopping) return;
    const worker = new SandboxWorker(this.options, await workerScript(), () => {
      this.workers.delete(worker);
      if (!this.stopping) void this.respawn();
    });
    this.workers.add(worker);
    const spawnedAt = performance.now();
    try {
      await worker.ready;
      this.options.onWorkerReady?.(performance.now() - spawnedAt);
      this.failedStarts = 0;
      this.dispatch();
    } catch (error) {
      this.failedStarts += 1;
      if (!this.stopping) this.options.onWorkerError?.(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async respawn(): Promise<void> {
    const delay = RESPAWN_BACKOFF_MS[Math.min(this.failedStarts, RESPAWN_BACKOFF_MS.length - 1)] ?? 0;
    if (delay > 0) await new Promise((done) => setTimeout(done, delay).unref());
    await this.spawn();
  }
}

/** One worker process: started, handed runs one at a time, killed when a run overruns its bounds. */
class SandboxWorker {
  readonly ready: Promise<void>;
  busy = false;
  alive = true;
  /** Between runs, while its memory is read: not idle. */
  checking = false;
  private readonly child: ChildProcess;
  private current: { runId: number; settle(results: CellResult[]): void } | undefined;
  private nextRunId = 1;
  private startRss = 0;
  private readonly exited: Promise<void>;

  constructor(
    private readonly options: SandboxPoolOptions,
    script: WorkerScript,
    onExit: () => void,
  ) {
    this.child = fork(script.path, [], {
      execArgv: [
        '--max-old-space-size=128',
        // Node's permission model: the worker reads its own code and engine, writes nothing, spawns nothing.
        '--experimental-permission',
        ...script.readable.map((path) => `--allow-fs-read=${path}`),
        '--no-warnings',
      ],
      // Nothing of the service's environment (database URL, NATS credentials, keys) reaches it.
      env: { NODE_ENV: process.env['NODE_ENV'] ?? 'production' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.exited = new Promise((done) => this.child.once('exit', () => done()));
    this.ready = new Promise<void>((resolveReady, rejectReady) => {
      const onMessage = (raw: unknown) => {
        const message = parseMessage(raw);
        if (message.success && message.data.type === 'ready') {
          this.child.off('exit', onEarlyExit);
          this.readyResolved = true;
          void this.memory().then((rss) => (this.startRss = rss));
          resolveReady();
        }
      };
      const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null) =>
        rejectReady(new Error(`sandbox worker exited before it was ready (${signal ?? `code ${code}`})`));
      this.child.on('message', onMessage);
      this.child.once('exit', onEarlyExit);
    });
    this.ready.catch(() => undefined);
    this.child.on('message', (raw: unknown) => this.onMessage(raw));
    this.child.once('exit', (code, signal) => {
      this.alive = false;
      this.current?.settle(failAll(this.currentObserve, 'ERROR', `the sandbox worker died (${signal ?? `exit code ${code}`})`));
      onExit();
    });
    this.child.on('error', (error) => this.options.onWorkerError?.(error));
    this.send({ type: 'init', runtimeSource: observableRuntimeSource() });
  }

  /** Started and not retired: running a notebook or waiting for one. */
  get usable(): boolean {
    return this.alive && this.readyResolved;
  }

  get idle(): boolean {
    return this.usable && !this.busy && !this.checking;
  }

  private readyResolved = false;
  private currentObserve: string[] = [];

  run(request: SandboxRequest): Promise<CellResult[]> {
    this.busy = true;
    const runId = this.nextRunId++;
    this.currentObserve = request.observe;
    return new Promise<CellResult[]>((resolveRun) => {
      const deadline = setTimeout(() => this.kill('deadline', 'TIMEOUT', `the run exceeded its ${request.limits.deadlineMs} ms deadline; its sandbox was stopped`), request.limits.deadlineMs + this.options.graceMs);
      const watchdog = setInterval(() => {
        void this.memory().then((rss) => {
          // A reading that comes back after its run ended says nothing about the next one.
          if (this.current?.runId !== runId) return;
          if (rss > this.options.workerMemoryBytes) this.kill('memory', 'ERROR', `the run exceeded the memory limit of ${Math.round(this.options.workerMemoryBytes / 2 ** 20)} MiB`);
        });
      }, MEMORY_CHECK_MS);
      this.current = {
        runId,
        settle: (results) => {
          if (this.current?.runId !== runId) return;
          this.current = undefined;
          clearTimeout(deadline);
          clearInterval(watchdog);
          this.busy = false;
          resolveRun(results);
        },
      };
      try {
        this.send({ type: 'run', runId, request });
      } catch (error) {
        this.current.settle(failAll(request.observe, 'ERROR', `the run could not be sent to its sandbox: ${error instanceof Error ? error.message : String(error)}`));
      }
    });
  }

  /** Resident memory gained since the worker was ready. */
  async grownBy(): Promise<number> {
    return (await this.memory()) - this.startRss;
  }

  async stop(): Promise<void> {
    // Retired from now on: nothing is dispatched to a worker on its way out.
    const wasAlive = this.alive;
    this.alive = false;
    if (wasAlive && this.child.exitCode === null && this.child.signalCode === null) {
      if (this.busy) await Promise.race([this.settled(), this.exited]);
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }

  private settled(): Promise<void> {
    return new Promise((done) => {
      const check = setInterval(() => {
        if (!this.busy) {
          clearInterval(check);
          done();
        }
      }, 20);
    });
  }

  private kill(reason: KillReason, status: 'ERROR' | 'TIMEOUT', error: string): void {
    // A worker on its way out (stop() waiting for its run) is still killed when its run overruns.
    if (!this.current || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.alive = false;
    this.options.onKill?.(reason);
    this.current.settle(failAll(this.currentObserve, status, error));
    this.child.kill('SIGKILL');
  }

  private onMessage(raw: unknown): void {
    const message = parseMessage(raw);
    if (!message.success) {
      this.options.onWorkerError?.(new Error(`sandbox worker sent an invalid message: ${message.error}`));
      this.child.kill('SIGKILL');
      return;
    }
    if (message.data.type === 'ready') return;
    if (message.data.runId !== this.current?.runId) return;
    // A worker whose run was cut off exits by itself after answering: no more runs for it.
    if (!message.data.reusable) this.alive = false;
    const observed = new Set(this.currentObserve);
    // Only the cells asked for, each once: a compromised worker cannot report others.
    const results = message.data.results.filter((result) => observed.delete(result.cellId));
    this.current.settle([...results, ...failAll([...observed], 'ERROR', 'the sandbox reported no result for this cell')]);
  }

  private send(message: ToWorker): void {
    if (this.child.connected) this.child.send(message);
  }

  /** Resident memory of the worker (Linux: /proc; elsewhere 0, and only the guest engine's own limit applies). */
  private async memory(): Promise<number> {
    const pid = this.child.pid;
    if (pid === undefined || !this.alive) return 0;
    try {
      const statm = await readFile(`/proc/${pid}/statm`, 'utf8');
      return Number(statm.split(' ')[1] ?? 0) * PAGE_BYTES;
    } catch {
      return 0;
    }
  }
}

/**
 * A worker's message, validated. A compromised worker could send anything, including values that
 * make validation itself throw (e.g. nesting deep enough to exhaust the stack): that is an invalid
 * message too, never an exception in the service.
 */
function parseMessage(raw: unknown): { success: true; data: FromWorker } | { success: false; error: string } {
  try {
    const parsed = FromWorker.safeParse(raw);
    return parsed.success ? { success: true, data: parsed.data } : { success: false, error: parsed.error.message };
  } catch (error) {
    return { success: false, error: error instanceof Error ? error.message : String(error) };
  }
}
