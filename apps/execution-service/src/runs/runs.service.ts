import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  eventDecoder,
  type CellOutput,
  type ExecutionEvent,
  type ExecutionReport,
  type StreamRef,
} from '@notebooks/contracts';
import { AggregateCache, EventStore, loadAggregate } from '@notebooks/event-store';
import { notebookDecider, permission, type NotebookState } from '@notebooks/notebook-domain';
import { CONFIG, currentCorrelationId, RpcException } from '@notebooks/platform';
import { randomUUID } from 'node:crypto';
import type { SandboxLimits } from '../sandbox/sandbox';
import type { ExecutionConfig } from '../service';
import { SandboxRunner } from '../sandbox/sandbox-runner';
import { programsOf, withDependents } from './notebook-graph';

const decode = eventDecoder('notebooks');
/** One commit on EXECUTIONS stays well under the log's message size. */
const COMMIT_BUDGET_BYTES = 512 * 1024;

/** Which cells a run reports: every cell, or some cells and their dependents. */
export type RunScope = { all: true } | { all: false; cells: readonly string[]; names?: readonly string[] };

export interface RunOptions {
  /** Who caused the run (an explicit run's caller, or the author of the edit that triggered it). */
  actorId: string | null;
  /** Explicit runs are refused when the sandboxes are saturated; reactive ones wait their turn. */
  explicit: boolean;
}

/**
 * Runs notebooks: folds the notebook from the log, hands its cells to a sandbox, and records each
 * reported cell's result on the EXECUTIONS stream (`executions.<notebookId>`), tagged with the
 * notebook version it was computed from.
 */
@Injectable()
export class NotebookRuns {
  private readonly logger = new Logger(NotebookRuns.name);
  private readonly cache = new AggregateCache<NotebookState>(500);
  private readonly limits: SandboxLimits;

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    private readonly sandboxes: SandboxRunner,
    @Inject(CONFIG) config: ExecutionConfig,
  ) {
    this.limits = {
      deadlineMs: config.EXECUTION_DEADLINE_MS,
      generatorBudgetMs: Math.min(config.EXECUTION_GENERATOR_BUDGET_MS, config.EXECUTION_DEADLINE_MS),
      memoryBytes: config.EXECUTION_MEMORY_MB * 2 ** 20,
      stackBytes: 256 * 1024,
      displayMax: 2_000,
      valueMax: 16 * 1024,
      htmlMax: 64 * 1024,
    };
  }

  /** The notebook as of now, for a caller who must hold `run` on it (NOT_FOUND when they may not see it). */
  async notebookFor(notebookId: string, actorId: string): Promise<NotebookState> {
    const { state } = await loadAggregate(this.store, notebookDecider, notebookRef(notebookId), { decode, cache: this.cache });
    const access = state.status === 'active' ? permission(state, actorId, 'run') : 'hidden';
    if (access === 'hidden') throw new RpcException('NOT_FOUND', 'notebook not found');
    if (access === 'forbidden') throw new RpcException('FORBIDDEN', 'your role on this notebook does not allow running it');
    return state;
  }

  /** The notebook as of now, or null when it does not exist (any more). */
  async current(notebookId: string): Promise<NotebookState | null> {
    const { state } = await loadAggregate(this.store, notebookDecider, notebookRef(notebookId), { decode, cache: this.cache });
    return state.status === 'active' ? state : null;
  }

  /** Runs the notebook's cells in `scope` (and what they need), records and returns their outputs. */
  async run(notebookId: string, state: NotebookState, scope: RunScope, options: RunOptions): Promise<ExecutionReport> {
    const startedAt = performance.now();
    const cells = programsOf(state.cells);
    const observe = scope.all ? cells.map((cell) => cell.id) : withDependents(cells, scope.cells, scope.names);
    const results = observe.length === 0 ? [] : await this.sandboxes.run({ cells, observe, limits: this.limits }, options.explicit);
    const executedAt = new Date().toISOString();
    const outputs: CellOutput[] = results.map((result) => ({ ...result, notebookVersion: state.version, executedAt }));
    await this.record(notebookId, outputs, options.actorId);
    return { notebookId, notebookVersion: state.version, durationMs: performance.now() - startedAt, outputs };
  }

  private async record(notebookId: string, outputs: readonly CellOutput[], actorId: string | null): Promise<void> {
    const runId = randomUUID();
    const chunks = chunked(outputs.map(toEvent));
    for (const [index, events] of chunks.entries()) {
      await this.store.append(
        { category: 'executions', id: notebookId },
        { events, actorId, correlationId: currentCorrelationId() ?? null, idempotencyKey: `execution:${runId}:${index}` },
        'any',
      );
    }
    if (chunks.length > 1) this.logger.debug({ notebookId, commits: chunks.length }, 'large run recorded in several commits');
  }
}

function notebookRef(id: string): StreamRef {
  return { category: 'notebooks', id };
}

function toEvent(output: CellOutput): ExecutionEvent {
  const { status, error, ...run } = output;
  return status === 'OK'
    ? { type: 'cell.executed', data: { ...run, status, error: null } }
    : { type: 'cell.failed', data: { ...run, status, error: error ?? 'the cell failed' } };
}

/** Consecutive groups of events, each under the commit budget (a single huge event stands alone). */
function chunked(events: ExecutionEvent[]): ExecutionEvent[][] {
  const chunks: ExecutionEvent[][] = [];
  let current: ExecutionEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = Buffer.byteLength(JSON.stringify(event));
    if (current.length > 0 && bytes + size > COMMIT_BUDGET_BYTES) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
