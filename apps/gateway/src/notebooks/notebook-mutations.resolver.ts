import { Args, Context, ID, Int, Mutation, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { NotebookCommandInput, NotebookCommandReply, NotebookCommandRequest, NotebookSubjects } from '@notebooks/contracts';
import { NatsRpc } from '@notebooks/platform';
import type { GatewayContext } from '../graphql/context';
import { gatewayError, parseInput, requireViewer } from '../graphql/errors';
import { NotebookVersions } from './notebook-versions';
import {
  AddCellInput,
  CreateNotebookInput,
  Notebook,
  NotebookChange,
  Role,
  UpdateCellInput,
  UpdateNotebookInput,
} from './notebook.models';

/** The optional arguments of a mutation, as GraphQL passes them (null for not given). */
interface MutationOptions {
  expectedVersion?: number | null;
  idempotencyKey?: string | null;
}
const CommandOptions = NotebookCommandRequest.pick({ expectedVersion: true, idempotencyKey: true });

/** GraphQL's null for "not given", which the command schemas spell as absent. */
function given<T>(value: T | null | undefined): T | undefined {
  return value ?? undefined;
}

/**
 * Every notebook and cell mutation: validated here, authorized and decided by notebook-service
 * against the notebook as it is in the log, answered with the version it produced.
 */
@Resolver(() => NotebookChange)
export class NotebookMutationsResolver {
  constructor(
    private readonly rpc: NatsRpc,
    private readonly versions: NotebookVersions,
  ) {}

  @Mutation(() => NotebookChange)
  createNotebook(
    @Args('input') input: CreateNotebookInput,
    @Args('idempotencyKey', { type: () => String, nullable: true }) idempotencyKey: string | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookChange> {
    const { title, description, visibility } = input;
    return this.send(context, { type: 'CreateNotebook', title, description: description ?? null, visibility: visibility ?? 'PRIVATE' }, { idempotencyKey });
  }

  @Mutation(() => NotebookChange)
  updateNotebook(
    @Args('id', { type: () => ID }) notebookId: string,
    @Args('input') input: UpdateNotebookInput,
    @Args('expectedVersion', { type: () => Int, nullable: true }) expectedVersion: number | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookChange> {
    // A null description clears it; a null title or visibility means "leave as is".
    const { title, description, visibility } = input;
    return this.send(context, { type: 'UpdateNotebook', notebookId, title: given(title), description, visibility: given(visibility) }, { expectedVersion });
  }

  @Mutation(() => Boolean)
  async deleteNotebook(
    @Args('id', { type: () => ID }) notebookId: string,
    @Args('expectedVersion', { type: () => Int, nullable: true }) expectedVersion: number | null,
    @Context() context: GatewayContext,
  ): Promise<boolean> {
    const change = await this.send(context, { type: 'DeleteNotebook', notebookId }, { expectedVersion });
    // The deletion is in the log either way; waiting only spares the caller seeing it in a list afterwards.
    await this.versions.reached(change.notebookId, change.version);
    return true;
  }

  @Mutation(() => NotebookChange)
  forkNotebook(
    @Args('id', { type: () => ID }) notebookId: string,
    @Args('title', { type: () => String, nullable: true }) title: string | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookChange> {
    return this.send(context, { type: 'ForkNotebook', notebookId, title: given(title) });
  }

  @Mutation(() => NotebookChange, { description: 'Appends events that bring the content back to a past version; history is never rewritten.' })
  restoreNotebook(
    @Args('id', { type: () => ID }) notebookId: string,
    @Args('version', { type: () => Int }) version: number,
    @Args('expectedVersion', { type: () => Int, nullable: true }) expectedVersion: number | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookChange> {
    return this.send(context, { type: 'RestoreNotebook', notebookId, version }, { expectedVersion });
  }

  @Mutation(() => NotebookChange)
  shareNotebook(
    @Args('id', { type: () => ID }) notebookId: string,
    @Args('email') email: string,
    @Args('role', { type: () => Role }) role: Role,
    @Context() context: GatewayContext,
  ): Promise<NotebookChange> {
    if (role === 'OWNER') throw gatewayError('BAD_USER_INPUT', 'role: a notebook has one owner; share as EDITOR or VIEWER');
    return this.send(context, { type: 'ShareNotebook', notebookId, email, role });
  }

  @Mutation(() => NotebookChange)
  unshareNotebook(
    @Args('id', { type: () => ID }) notebookId: string,
    @Args('userId', { type: () => ID }) userId: string,
    @Context() context: GatewayContext,
  ): Promise<NotebookChange> {
    return this.send(context, { type: 'UnshareNotebook', notebookId, userId });
  }

  @Mutation(() => NotebookChange)
  addCell(
    @Args('notebookId', { type: () => ID }) notebookId: string,
    @Args('input') input: AddCellInput,
    @Args('expectedVersion', { type: () => Int, nullable: true }) expectedVersion: number | null,
    @Args('idempotencyKey', { type: () => String, nullable: true }) idempotencyKey: string | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookChange> {
    const { kind, value, position } = input;
    return this.send(context, { type: 'AddCell', notebookId, kind: kind ?? 'JS', value: value ?? '', position: given(position) }, { expectedVersion, idempotencyKey });
  }

  @Mutation(() => NotebookChange)
  updateCell(
    @Args('notebookId', { type: () => ID }) notebookId: string,
    @Args('cellId', { type: () => ID }) cellId: string,
    @Args('input') input: UpdateCellInput,
    @Args('expectedVersion', { type: () => Int, nullable: true }) expectedVersion: number | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookChange> {
    const { value, kind, isClosed } = input;
    return this.send(context, { type: 'UpdateCell', notebookId, cellId, value: given(value), kind: given(kind), isClosed: given(isClosed) }, { expectedVersion });
  }

  @Mutation(() => NotebookChange)
  moveCell(
    @Args('notebookId', { type: () => ID }) notebookId: string,
    @Args('cellId', { type: () => ID }) cellId: string,
    @Args('position', { type: () => Int }) position: number,
    @Args('expectedVersion', { type: () => Int, nullable: true }) expectedVersion: number | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookChange> {
    return this.send(context, { type: 'MoveCell', notebookId, cellId, position }, { expectedVersion });
  }

  @Mutation(() => NotebookChange)
  deleteCell(
    @Args('notebookId', { type: () => ID }) notebookId: string,
    @Args('cellId', { type: () => ID }) cellId: string,
    @Args('expectedVersion', { type: () => Int, nullable: true }) expectedVersion: number | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookChange> {
    return this.send(context, { type: 'DeleteCell', notebookId, cellId }, { expectedVersion });
  }

  @ResolveField(() => Notebook, { description: 'The notebook as of this version (waits until the read model has it).' })
  async notebook(@Parent() change: NotebookChange, @Context() context: GatewayContext): Promise<Notebook> {
    if (!(await this.versions.reached(change.notebookId, change.version))) {
      // The change is in the log: resending it would make it twice. Only reading it back must wait.
      throw gatewayError('UNAVAILABLE', 'the change was made, but the notebook cannot be read back yet: read it again shortly, do not resend the change', {
        applied: true,
        notebookId: change.notebookId,
        version: change.version,
      });
    }
    const notebook = await context.loaders.notebook.clear(change.notebookId).load(change.notebookId);
    if (!notebook) throw gatewayError('NOT_FOUND', 'notebook not found');
    return notebook;
  }

  private async send(context: GatewayContext, command: Record<string, unknown>, options: MutationOptions = {}): Promise<NotebookChange> {
    const viewer = requireViewer(context);
    // Validated apart, so a problem is reported by the argument's own name (`title: …`).
    const request: NotebookCommandRequest = {
      command: parseInput(NotebookCommandInput, command),
      actorId: viewer.userId,
      ...parseInput(CommandOptions, { expectedVersion: given(options.expectedVersion), idempotencyKey: given(options.idempotencyKey) }),
    };
    const reply = NotebookCommandReply.parse(await this.rpc.request(NotebookSubjects.command, request));
    return { notebookId: reply.notebookId, version: reply.version, cellId: reply.cellId };
  }
}
