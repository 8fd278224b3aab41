import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuthSubjects, defaultEventRegistry, eventDecoder, UserProfile, type Decider, type NotebookCommandReply, type NotebookCommandRequest, type NotebookEvent, type StreamRef } from '@notebooks/contracts';
import { AggregateCache, ConcurrencyError, EventStore, handleCommand, KeyedQueue, loadAggregate, type CommandResult } from '@notebooks/event-store';
import {
  actionOf,
  initialState,
  notebookDecider,
  NotebookAccessDenied,
  permission,
  type NotebookAction,
  type NotebookCommand,
  type NotebookState,
} from '@notebooks/notebook-domain';
import { currentCorrelationId, NatsRpc, RpcException } from '@notebooks/platform';

import { randomUUID } from 'node:crypto';
import { ShareLookupThrottle } from './share-lookup-throttle';

const decode = eventDecoder('notebooks');
/** Events are written at their current schema version; older ones are upcast when read. */
const SCHEMA_VERSIONS = defaultEventRegistry().writeVersions();
/** A command still queued behind others this long is dropped: its caller (5 s request timeout) has given up. */
const MAX_QUEUE_WAIT_MS = 4_000;
const notebook = (id: string): StreamRef => ({ category: 'notebooks', id });

/**
 * The notebook decider with the role matrix in front of it. Checked inside the decision, so the
 * append's expected position guarantees the actor's role was judged on the notebook as it is now.
 */
function authorizedFor(actorId: string): Decider<NotebookCommand, NotebookEvent, NotebookState> {
  return {
    ...notebookDecider,
    decide(command, state) {
      if (state.status !== 'absent' && command.type !== 'CreateNotebook' && command.type !== 'ForkNotebook') {
        const verdict = permission(state, actorId, actionOf(command));
        if (verdict !== 'allowed') throw new NotebookAccessDenied(verdict);
      }
      return notebookDecider.decide(command, state);
    },
  };
}

/** Notebook commands: turns what a client asked for into decider commands and runs them on the log. */
@Injectable()
export class NotebooksService {
  private readonly logger = new Logger(NotebooksService.name);
  private readonly cache = new AggregateCache<NotebookState>(10_000);
  private readonly queue = new KeyedQueue();

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    private readonly rpc: NatsRpc,
    private readonly lookups: ShareLookupThrottle,
  ) {}

  async execute(request: NotebookCommandRequest): Promise<NotebookCommandReply> {
    const { command, actorId } = request;
    switch (command.type) {
      case 'CreateNotebook': {
        const { title, description, visibility } = command;
        return this.run(randomUUID(), { type: 'CreateNotebook', ownerId: actorId, title, description, visibility }, request);
      }
      case 'UpdateNotebook': {
        const { notebookId, type: _, ...changes } = command;
        return this.run(notebookId, { type: 'UpdateNotebook', ...changes }, request);
      }
      case 'DeleteNotebook':
        return this.run(command.notebookId, { type: 'DeleteNotebook' }, request);
      case 'ForkNotebook':
        return this.fork(command.notebookId, command.title, request);
      case 'RestoreNotebook': {
        // Who may restore is checked before the history is read (and again inside the decision).
        await this.readable(command.notebookId, actorId, 'edit-content');
        const target = await this.stateAt(command.notebookId, command.version);
        return this.run(command.notebookId, { type: 'RestoreNotebook', toVersion: command.version, target }, request);
      }
      case 'ShareNotebook': {
        const userId = command.userId ?? (await this.userWithEmail(command.notebookId, command.email ?? '', actorId));
        return this.run(command.notebookId, { type: 'ShareNotebook', userId, role: command.role }, request);
      }
      case 'UnshareNotebook':
        return this.run(command.notebookId, { type: 'UnshareNotebook', userId: command.userId }, request);
      case 'AddCell': {
        const { notebookId, kind, value, position } = command;
        return this.run(notebookId, { type: 'AddCell', cellId: randomUUID(), kind, value, position }, request);
      }
      case 'UpdateCell': {
        const { notebookId, type: _, ...changes } = command;
        return this.run(notebookId, { type: 'UpdateCell', ...changes }, request, changes.cellId);
      }
      case 'MoveCell':
        return this.run(command.notebookId, { type: 'MoveCell', cellId: command.cellId, position: command.position }, request, command.cellId);
      case 'DeleteCell':
        return this.run(command.notebookId, { type: 'DeleteCell', cellId: command.cellId }, request, command.cellId);
    }
  }

  private async run(notebookId: string, command: NotebookCommand, request: NotebookCommandRequest, cellId?: string): Promise<NotebookCommandReply> {
    const result = await this.queue.run(notebookId, () => handleCommand(
      this.store,
      authorizedFor(request.actorId),
      {
        ref: notebook(notebookId),
        command,
        actorId: request.actorId,
        correlationId: currentCorrelationId() ?? null,
        // Keys are the client's: scoped by actor so two users' keys never collide.
        idempotencyKey: request.idempotencyKey === undefined ? undefined : `${request.actorId}:${request.idempotencyKey}`,
        expectedVersion: request.expectedVersion,
      },
      { decode, cache: this.cache, schemaVersions: SCHEMA_VERSIONS },
    ), MAX_QUEUE_WAIT_MS);
    return { notebookId: result.ref.id, version: result.version, cellId: createdCell(result) ?? cellId ?? null, duplicate: result.duplicate };
  }

  /**
   * A copy owned by the actor, linked to its source. The client's `expectedVersion` is the source's.
   * The source then records who forked it — best effort: the fork exists either way.
   */
  private async fork(sourceId: string, title: string | undefined, request: NotebookCommandRequest): Promise<NotebookCommandReply> {
    const source = await this.readable(sourceId, request.actorId, 'read');
    if (request.expectedVersion !== undefined && request.expectedVersion !== source.position.version) {
      throw new ConcurrencyError(notebook(sourceId), request.expectedVersion, source.position);
    }
    const cellIds = source.state.cells.map(() => randomUUID());
    const fork = await this.run(
      randomUUID(),
      { type: 'ForkNotebook', sourceId, source: source.state, ownerId: request.actorId, title, cellIds },
      { ...request, expectedVersion: undefined },
    );
    await this.queue
      .run(sourceId, () =>
        handleCommand(
          this.store,
          notebookDecider,
          {
            ref: notebook(sourceId),
            command: { type: 'RecordFork', forkId: fork.notebookId, forkedBy: request.actorId, atVersion: source.position.version },
            actorId: request.actorId,
            correlationId: currentCorrelationId() ?? null,
            idempotencyKey: `fork-recorded:${fork.notebookId}`,
          },
          { decode, cache: this.cache, schemaVersions: SCHEMA_VERSIONS },
        ),
      )
      .catch((error: unknown) => this.logger.warn(`fork ${fork.notebookId} of ${sourceId} not recorded on the source: ${String(error)}`));
    return fork;
  }

  /** The notebook as it is, if the actor may do `action` on it; otherwise it does not exist for them. */
  private async readable(notebookId: string, actorId: string, action: NotebookAction) {
    const aggregate = await loadAggregate(this.store, notebookDecider, notebook(notebookId), { decode, cache: this.cache });
    const verdict = aggregate.state.status === 'active' ? permission(aggregate.state, actorId, action) : 'hidden';
    if (verdict !== 'allowed') throw new NotebookAccessDenied(verdict);
    return aggregate;
  }

  /**
   * Only someone who may share the notebook learns whether an email has an account here, and only so
   * often (anyone can create a notebook to share).
   */
  private async userWithEmail(notebookId: string, email: string, actorId: string): Promise<string> {
    await this.readable(notebookId, actorId, 'share');
    await this.lookups.admit(actorId);
    try {
      return UserProfile.parse(await this.rpc.request(AuthSubjects.user, { email })).id;
    } catch (error) {
      if (error instanceof RpcException && error.code === 'NOT_FOUND') throw new RpcException('NOT_FOUND', 'no user has that email', { field: 'email' });
      throw error;
    }
  }

  /** The notebook as it was at `version` (its head if the log is shorter: the decider refuses that). */
  private async stateAt(notebookId: string, version: number): Promise<NotebookState> {
    let state = initialState();
    for await (const stored of this.store.read(notebook(notebookId))) {
      for (const envelope of stored.commit.events) {
        if (envelope.version > version) return state;
        state = notebookDecider.evolve(state, decode(envelope));
      }
    }
    return state;
  }
}

function createdCell(result: CommandResult): string | undefined {
  const created = result.events.find((event) => event.type === 'cell.created');
  return created && typeof created.data === 'object' && created.data !== null && 'cellId' in created.data ? String(created.data.cellId) : undefined;
}
