import { Args, Context, ID, Int, Resolver, Subscription } from '@nestjs/graphql';
import { z } from 'zod';
import type { GatewayContext } from '../graphql/context';
import { gatewayError, parseInput, requireViewer } from '../graphql/errors';
import { withoutHiddenNotebooks } from '../notebooks/notebook-queries';
import { Cell, NotebookEvent } from '../notebooks/notebook.models';
import type { SubscriptionContext } from './graphql-ws.server';
import { NotebookChannels } from './notebook-channels';
import type { Shareable } from './shared-execution';

const AfterVersion = z.number().int().min(0).nullable();

/**
 * An event as `Notebook.history` shows it to this caller: notebooks it mentions that the caller
 * may not see are left out. Those are looked at afresh (a stream lives long; visibility changes).
 */
export function presented(event: NotebookEvent, context: GatewayContext): NotebookEvent | Promise<NotebookEvent> {
  if (event.type !== 'notebook.forked' && event.type !== 'notebook.created') return event;
  context.loaders.notebook.clearAll();
  return withoutHiddenNotebooks(event, context);
}

/**
 * When one execution of an event may serve every subscriber who sent the same operation (see
 * SharedExecution): an event is shared in a form per audience (members, others) already, so only
 * what differs per caller prevents it — notebooks the event mentions (forks), and the actor's own
 * email, which the actor sees in any notebook. A cell's output is the same for every reader.
 */
export const SHARED_RESULTS: Readonly<Record<string, Shareable>> = {
  notebookEvents: (payload, viewerId) => {
    const event = payload as NotebookEvent;
    return event.type !== 'notebook.forked' && event.type !== 'notebook.created' && event.actorId !== viewerId;
  },
  cellOutputs: () => true,
};

/** GraphQL subscriptions, served over graphql-ws (see GraphqlWsServer) from the notebooks' shared feeds. */
@Resolver()
export class RealtimeResolver {
  constructor(private readonly channels: NotebookChannels) {}

  @Subscription(() => NotebookEvent, {
    description: 'Every event of a notebook as it happens, after `afterVersion` (catches up first, no gaps).',
    resolve: (event: NotebookEvent, _args: unknown, context: GatewayContext) => presented(event, context),
  })
  notebookEvents(
    @Args('notebookId', { type: () => ID }) notebookId: string,
    @Args('afterVersion', { type: () => Int, nullable: true }) afterVersion: number | null,
    @Context() context: SubscriptionContext,
  ): Promise<AsyncIterableIterator<NotebookEvent, undefined>> {
    const connection = connectionOf(context);
    const after = parseInput(AfterVersion, afterVersion ?? null);
    return this.channels.notebookEvents(notebookId, requireViewer(context).userId, after, 'graphql-ws', connection.hooks());
  }

  @Subscription(() => Cell, {
    description: "Execution results of a notebook's cells as they are produced.",
    resolve: (cell: Cell) => cell,
  })
  cellOutputs(@Args('notebookId', { type: () => ID }) notebookId: string, @Context() context: SubscriptionContext): Promise<AsyncIterableIterator<Cell, undefined>> {
    const connection = connectionOf(context);
    return this.channels.cellOutputs(notebookId, requireViewer(context).userId, 'graphql-ws', connection.hooks());
  }
}

function connectionOf(context: SubscriptionContext) {
  if (!context.connection) throw gatewayError('BAD_USER_INPUT', 'subscribe over WebSocket (graphql-transport-ws) at /graphql');
  return context.connection;
}
