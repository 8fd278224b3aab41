import { Module } from '@nestjs/common';
import { EventStoreModule, platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { join } from 'node:path';
import { z } from 'zod';
import { ReactiveRuns } from './runs/reactive-runs';
import { RunsHandlers } from './runs/runs.handlers';
import { NotebookRuns } from './runs/runs.service';
import { SandboxRunner } from './sandbox/sandbox-runner';

export const executionEnv = platformEnv(4103).extend({
  /** Sandbox worker processes (each runs one notebook at a time). */
  EXECUTION_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  /** Wall-clock deadline of one run; the worker is killed shortly after it. */
  EXECUTION_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  /** How long generators keep yielding once everything else has settled; their latest value is the output. */
  EXECUTION_GENERATOR_BUDGET_MS: z.coerce.number().int().min(0).max(600_000).default(1_000),
  /** The sandbox engine's heap per run. */
  EXECUTION_MEMORY_MB: z.coerce.number().int().min(8).max(2_048).default(64),
  /** Resident memory a worker process may reach before it is killed and its run fails. */
  EXECUTION_WORKER_MEMORY_MB: z.coerce.number().int().min(64).max(8_192).default(512),
  /** Explicit runs one user may have in progress at once (more: RATE_LIMITED). */
  EXECUTION_RUNS_PER_USER: z.coerce.number().int().min(1).max(100).default(2),
  /** Explicit runs that may wait for a worker (more: UNAVAILABLE). */
  EXECUTION_QUEUE_LIMIT: z.coerce.number().int().min(0).max(10_000).default(50),
});
export type ExecutionConfig = z.infer<typeof executionEnv>;

@Module({ providers: [SandboxRunner, NotebookRuns, RunsHandlers, ReactiveRuns] })
export class RunsModule {}

@Module({})
export class ExecutionModule {}

export const executionService: ServiceDefinition<ExecutionConfig> = {
  name: 'execution-service',
  env: executionEnv,
  module: (config) => ({
    module: ExecutionModule,
    imports: [
      PlatformModule.forRoot({
        service: 'execution-service',
        config,
        database: { schema: 'execution', migrationsFolder: join(__dirname, '..', 'migrations') },
      }),
      EventStoreModule.forRoot(),
      RunsModule,
    ],
  }),
};
