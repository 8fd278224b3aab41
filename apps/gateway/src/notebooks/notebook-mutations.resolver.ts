import { Args, Context, ID, Int, Mutation, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import type { GatewayContext } from '../graphql/context';
import { gatewayError } from '../graphql/errors';
import { NotebookCommands, type CommandOptions } from './notebook-commands';
import {
  AddCellInput,
  CreateNotebookInput,
  Notebook,
  NotebookChange,
  Role,
  UpdateCellInput,
  UpdateNotebookInput,
} from './notebook.models';

/** GraphQL's null for "not given", which the command schemas spell as absent. */
function given<T>(value: T | null | undefined): T | undefined {
  return value ?? undefined;
}

/**
 * Every notebook and cell mutation, sent through {@link NotebookCommands} (validated there,
 * authorized and decided by notebook-service), answered with the version it produced.
 */
@Resolver(() => NotebookChange)
export class NotebookMutationsResolver {
  constructor(private readonly commands: NotebookCommands) {}

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
    await this.commands.settled(change);
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
  notebook(@Parent() change: NotebookChange, @Context() context: GatewayContext): Promise<Notebook> {
    return this.commands.notebookAt(change, context);
  }

  private send(context: GatewayContext, command: Record<string, unknown>, options: CommandOptions = {}): Promise<NotebookChange> {
    return this.commands.send(context, command, options);
  }
}
