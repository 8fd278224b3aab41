import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CONFIG, Metrics, ReadinessChecks } from '@notebooks/platform';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { ExecutionConfig } from '../service';
import type { CellResult, SandboxRequest } from './sandbox';
import { SandboxPool } from './worker-pool';

/** execution-service's sandbox workers as a Nest provider: started with the service, drained on shutdown, measured. */
@Injectable()
export class SandboxRunner implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SandboxRunner.name);
  private readonly pool: SandboxPool;
  private readonly runDuration: Histogram<'outcome'>;
  private readonly migrateOnly: boolean;

  constructor(@Inject(CONFIG) config: ExecutionConfig, metrics: Metrics, readiness: ReadinessChecks) {
    this.migrateOnly = config.MIGRATE_ONLY;
    // Ready while at least one worker is up: runs queue behind busy workers, and dead ones come back.
    readiness.register('sandboxes', async () => {
      const stats = this.pool.stats();
      if (stats.workers === 0) throw new Error('no sandbox worker is running');
      return stats;
    });
    const kills = new Counter({
      name: 'sandbox_kills_total',
      help: 'Sandbox workers killed from outside, by reason (deadline or memory)',
      labelNames: ['reason'] as const,
      registers: [metrics.registry],
    });
    const workerErrors = new Counter({
      name: 'sandbox_worker_errors_total',
      help: 'Sandbox workers that died on their own or failed to start',
      registers: [metrics.registry],
    });
    this.runDuration = new Histogram({
      name: 'sandbox_run_duration_seconds',
      help: 'Wall-clock time of a notebook run in a sandbox (queueing included), by worst cell outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [metrics.registry],
    });
    const workerStart = new Histogram({
      name: 'sandbox_worker_start_seconds',
      help: 'Time from spawning a sandbox worker to its first readiness (engine loaded)',
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5],
      registers: [metrics.registry],
    });
    this.pool = new SandboxPool({
      size: config.EXECUTION_WORKERS,
      workerMemoryBytes: config.EXECUTION_WORKER_MEMORY_MB * 2 ** 20,
      graceMs: 1_000,
      maxQueue: config.EXECUTION_QUEUE_LIMIT,
      onKill: (reason) => kills.inc({ reason }),
      onWorkerReady: (ms) => workerStart.observe(ms / 1000),
      onWorkerError: (error) => {
        workerErrors.inc();
        this.logger.warn({ err: error }, 'sandbox worker failed');
      },
    });
    const pool = this.pool;
    new Gauge({
      name: 'sandbox_workers_busy',
      help: 'Sandbox workers running a notebook now',
      registers: [metrics.registry],
      collect() {
        this.set(pool.stats().busy);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    if (!this.migrateOnly) await this.pool.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.stop();
  }

  async run(request: SandboxRequest, explicit: boolean): Promise<CellResult[]> {
    const end = this.runDuration.startTimer();
    const results = await this.pool.run(request, explicit);
    end({ outcome: results.some((r) => r.status === 'TIMEOUT') ? 'TIMEOUT' : results.some((r) => r.status === 'ERROR') ? 'ERROR' : 'OK' });
    return results;
  }

  stats(): ReturnType<SandboxPool['stats']> {
    return this.pool.stats();
  }
}
