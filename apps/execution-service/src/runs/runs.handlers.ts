import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ExecutionSubjects, RunCellRequest, RunNotebookRequest, type ExecutionReport } from '@notebooks/contracts';
import { CONFIG, NatsRpc, RpcException } from '@notebooks/platform';
import { SandboxPoolSaturated } from '../sandbox/worker-pool';
import type { ExecutionConfig } from '../service';
import { NotebookRuns } from './runs.service';

/** execution-service's NATS API: explicit runs, each caller limited to a few at a time. */
@Injectable()
export class RunsHandlers implements OnApplicationBootstrap {
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly rpc: NatsRpc,
    private readonly runs: NotebookRuns,
    @Inject(CONFIG) private readonly config: ExecutionConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.rpc.serve(ExecutionSubjects.runNotebook, RunNotebookRequest, ({ actorId, notebookId }) =>
      this.limited(actorId, async () => {
        const state = await this.runs.notebookFor(notebookId, actorId);
        return this.runs.run(notebookId, state, { all: true }, { actorId, explicit: true });
      }),
    );
    this.rpc.serve(ExecutionSubjects.runCell, RunCellRequest, ({ actorId, notebookId, cellId }) =>
      this.limited(actorId, async () => {
        const state = await this.runs.notebookFor(notebookId, actorId);
        if (!state.cells.some((cell) => cell.cellId === cellId)) throw new RpcException('NOT_FOUND', 'cell not found');
        return this.runs.run(notebookId, state, { all: false, cells: [cellId] }, { actorId, explicit: true });
      }),
    );
  }

  private async limited(actorId: string, run: () => Promise<ExecutionReport>): Promise<ExecutionReport> {
    const running = this.inFlight.get(actorId) ?? 0;
    if (running >= this.config.EXECUTION_RUNS_PER_USER) {
      throw new RpcException('RATE_LIMITED', `you already have ${running} runs in progress; wait for one to finish`);
    }
    this.inFlight.set(actorId, running + 1);
    try {
      return await run();
    } catch (error) {
      if (error instanceof SandboxPoolSaturated) throw new RpcException('UNAVAILABLE', 'every sandbox is busy; retry shortly');
      throw error;
    } finally {
      const left = (this.inFlight.get(actorId) ?? 1) - 1;
      if (left > 0) this.inFlight.set(actorId, left);
      else this.inFlight.delete(actorId);
    }
  }
}
