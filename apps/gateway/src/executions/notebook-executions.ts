import { Injectable } from '@nestjs/common';
import { ExecutionReport, ExecutionSubjects, RunCellRequest, RunNotebookRequest, type CellOutput } from '@notebooks/contracts';
import { NatsRpc } from '@notebooks/platform';
import type { GatewayContext } from '../graphql/context';
import { gatewayError, parseInput, requireViewer } from '../graphql/errors';
import { NotebookCommands } from '../notebooks/notebook-commands';
import type { Cell, CellOutputModel } from '../notebooks/notebook.models';

/**
 * How long the gateway waits for a run: the sandbox deadline plus queueing behind other runs. The
 * service answers every run within its own deadline; this only bounds a lost reply.
 */
const RUN_TIMEOUT_MS = 60_000;

/** A run's outcome as GraphQL answers it: the reported cells, each with its fresh output. */
export interface RunOutcome {
  notebookId: string;
  notebookVersion: number;
  durationMs: number;
  cells: Cell[];
}

/**
 * Explicit runs (GraphQL `runNotebook`/`runCell`, REST `POST /api/cells/:id/execute`): sent to
 * execution-service, which authorizes, runs and records them; answered with the cells as of the
 * version that ran, each carrying the output the run just produced.
 */
@Injectable()
export class NotebookExecutions {
  constructor(
    private readonly rpc: NatsRpc,
    private readonly commands: NotebookCommands,
  ) {}

  async runNotebook(context: GatewayContext, notebookId: string): Promise<RunOutcome> {
    const actorId = requireViewer(context).userId;
    const request = parseInput(RunNotebookRequest, { actorId, notebookId });
    return this.outcome(context, await this.rpc.request(ExecutionSubjects.runNotebook, request, { timeoutMs: RUN_TIMEOUT_MS }));
  }

  async runCell(context: GatewayContext, notebookId: string, cellId: string): Promise<RunOutcome> {
    const actorId = requireViewer(context).userId;
    const request = parseInput(RunCellRequest, { actorId, notebookId, cellId });
    return this.outcome(context, await this.rpc.request(ExecutionSubjects.runCell, request, { timeoutMs: RUN_TIMEOUT_MS }));
  }

  private async outcome(context: GatewayContext, reply: unknown): Promise<RunOutcome> {
    const report = ExecutionReport.parse(reply);
    const notebook = await this.commands.notebookAt({ notebookId: report.notebookId, version: report.notebookVersion, cellId: null }, context);
    const cells = new Map((await context.loaders.cells.load({ id: notebook.id, version: notebook.version })).map((cell) => [cell.id, cell]));
    return {
      notebookId: report.notebookId,
      notebookVersion: report.notebookVersion,
      durationMs: report.durationMs,
      // A cell deleted since the run has no Cell to answer with; its output is still recorded.
      cells: report.outputs.flatMap((output) => {
        const cell = cells.get(output.cellId);
        return cell ? [{ ...cell, output: outputModel(output) }] : [];
      }),
    };
  }
}

export function outputModel(output: CellOutput): CellOutputModel {
  const { cellId: _cellId, executedAt, ...rest } = output;
  return { ...rest, executedAt: new Date(executedAt) };
}

/** The one cell a `runCell` asked for, out of its outcome. */
export function ranCell(outcome: RunOutcome, cellId: string): Cell {
  const cell = outcome.cells.find((candidate) => candidate.id === cellId);
  if (!cell) throw gatewayError('NOT_FOUND', 'cell not found');
  return cell;
}
