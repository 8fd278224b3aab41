import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { eventDecoder, type NotebookEvent } from '@notebooks/contracts';
import { EventStore, type DeliveredCommit, type RunningConsumer } from '@notebooks/event-store';
import { notebookDecider, type NotebookState } from '@notebooks/notebook-domain';
import { CONFIG } from '@notebooks/platform';
import type { ExecutionConfig } from '../service';
import { programsOf } from './notebook-graph';
import { NotebookRuns, type RunScope } from './runs.service';

const decode = eventDecoder('notebooks');
/** The durable consumer's name (deploy/ scales execution-service on its lag). */
export const REACTIVE_CONSUMER = 'execution-runs';
/** Notebooks whose last seen state is kept, to tell precisely which cells an edit touched. */
const VIEWS = 500;
/** Commits per batch: coalesced per notebook into one run each. */
const BATCH_SIZE = 16;

interface Dirty {
  all: boolean;
  cells: Set<string>;
  /** Names that stopped being defined where they were (a deleted or renamed cell). */
  names: Set<string>;
  actorId: string | null;
}

/**
 * Reactive runs: every edit of a cell re-runs that cell and its dependents, with no explicit run.
 * Consumes the NOTEBOOKS stream; the commits of one batch are coalesced per notebook into one run
 * of the notebook as it is now, and the batch is acknowledged once those runs are recorded — a
 * crash re-runs them, nothing is lost.
 */
@Injectable()
export class ReactiveRuns implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReactiveRuns.name);
  private consumer: RunningConsumer | undefined;
  /** Each notebook as of the last commit seen, to compare an edit against. */
  private readonly views = new Map<string, NotebookState>();

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    private readonly runs: NotebookRuns,
    @Inject(CONFIG) private readonly config: ExecutionConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = await this.store.consume({
      category: 'notebooks',
      name: REACTIVE_CONSUMER,
      batchSize: BATCH_SIZE,
      // A batch waits for its runs, each bounded by the deadline (plus the kill's grace), as many at
      // a time as there are workers: redelivery must not overtake them.
      ackWaitMs: (Math.ceil(BATCH_SIZE / this.config.EXECUTION_WORKERS) + 1) * (this.config.EXECUTION_DEADLINE_MS + 2_000) + 30_000,
      handle: (batch) => this.handle(batch),
      onPoison: async (message) => {
        this.logger.error({ sequence: message.sequence, subject: message.subject, error: message.error }, 'skipped a notebook commit reactive runs cannot read');
      },
      onError: (error) => this.logger.warn({ err: error }, 'reactive runs consumer recovered from an error'),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  private async handle(batch: DeliveredCommit[]): Promise<void> {
    const dirty = new Map<string, Dirty>();
    for (const delivered of batch) this.collect(delivered, dirty);
    await Promise.all([...dirty].map(([notebookId, changes]) => this.rerun(notebookId, changes)));
  }

  /** Folds the commit into the notebook's view and notes which cells (or names) it changed. */
  private collect({ ref, commit }: DeliveredCommit, dirty: Map<string, Dirty>): void {
    const events = commit.events.map((envelope) => decode(envelope));
    const first = commit.events[0]?.version ?? 0;
    const before = this.views.get(ref.id);
    const known = before !== undefined && before.version === first - 1;
    let state = known ? before : null;
    const entry = dirty.get(ref.id) ?? { all: false, cells: new Set<string>(), names: new Set<string>(), actorId: null };
    for (const [index, event] of events.entries()) {
      if (!touchesCells(event)) {
        if (state) state = notebookDecider.evolve(state, event);
        continue;
      }
      entry.actorId = commit.events[index]?.actorId ?? entry.actorId;
      if (!state) {
        entry.all = true;
        continue;
      }
      const changed = changedCell(event);
      if (changed === null) entry.all = true;
      else {
        entry.cells.add(changed);
        const previous = state.cells.find((cell) => cell.cellId === changed);
        if (previous) {
          const [name] = programsOf([previous]).map((cell) => cell.program.name);
          if (name) entry.names.add(name);
        }
      }
      state = notebookDecider.evolve(state, event);
    }
    if (state) this.remember(ref.id, state);
    else this.views.delete(ref.id);
    if (entry.all || entry.cells.size > 0) dirty.set(ref.id, entry);
  }

  private async rerun(notebookId: string, dirty: Dirty): Promise<void> {
    const state = await this.runs.current(notebookId);
    if (!state) return;
    this.remember(notebookId, state);
    const scope: RunScope = dirty.all ? { all: true } : { all: false, cells: [...dirty.cells], names: [...dirty.names] };
    await this.runs.run(notebookId, state, scope, { actorId: dirty.actorId, explicit: false });
  }

  private remember(notebookId: string, state: NotebookState): void {
    this.views.delete(notebookId);
    this.views.set(notebookId, state);
    if (this.views.size > VIEWS) this.views.delete(this.views.keys().next().value as string);
  }
}

/** Whether the event changes what cells compute (moving a cell or renaming a notebook does not). */
function touchesCells(event: NotebookEvent): boolean {
  switch (event.type) {
    case 'cell.created':
    case 'cell.deleted':
    case 'notebook.restored':
      return true;
    case 'cell.updated':
      return event.data.changes.value !== undefined || event.data.changes.kind !== undefined;
    default:
      return false;
  }
}

/** The one cell an event changes, or null when it changes the whole notebook. */
function changedCell(event: NotebookEvent): string | null {
  switch (event.type) {
    case 'cell.created':
    case 'cell.deleted':
    case 'cell.updated':
      return event.data.cellId;
    default:
      return null;
  }
}
