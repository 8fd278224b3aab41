import { Injectable } from '@nestjs/common';
import type { User } from '../auth/auth.models';
import type { GatewayContext } from '../graphql/context';
import { gatewayError } from '../graphql/errors';
import { NotebookQueries } from '../notebooks/notebook-queries';
import type { Cell, CellOutputModel, Notebook, NotebookEvent } from '../notebooks/notebook.models';
import type { CellBody, CellOutputBody, NotebookBody, NotebookEventBody, NotebookSummaryBody, UserBody } from './rest.schemas';

/**
 * Notebooks, cells, users and events as REST answers them, through the same {@link NotebookQueries}
 * GraphQL resolves its fields with: same visibility, same emails hidden, same linked notebooks left out.
 */
@Injectable()
export class RestViews {
  constructor(private readonly queries: NotebookQueries) {}

  user(user: User): UserBody {
    return { id: user.id, email: user.email, displayName: user.displayName, createdAt: user.createdAt.toISOString() };
  }

  async summary(context: GatewayContext, notebook: Notebook): Promise<NotebookSummaryBody> {
    const [owner, forkedFrom] = await Promise.all([this.queries.owner(context, notebook), this.queries.forkedFrom(context, notebook)]);
    return {
      id: notebook.id,
      title: notebook.title,
      description: notebook.description,
      visibility: notebook.visibility,
      version: notebook.version,
      myRole: notebook.myRole,
      owner: this.user(owner),
      forkedFromId: forkedFrom?.id ?? null,
      createdAt: notebook.createdAt.toISOString(),
      updatedAt: notebook.updatedAt.toISOString(),
    };
  }

  async notebook(context: GatewayContext, notebook: Notebook): Promise<NotebookBody> {
    const [summary, cells, collaborators] = await Promise.all([this.summary(context, notebook), this.cells(context, notebook), this.collaborators(context, notebook)]);
    return { ...summary, cells, collaborators };
  }

  async collaborators(context: GatewayContext, notebook: Notebook): Promise<NotebookBody['collaborators']> {
    const collaborators = await this.queries.collaborators(context, notebook);
    return Promise.all(collaborators.map(async (collaborator) => ({ role: collaborator.role, user: this.user(await this.queries.collaboratorUser(context, collaborator)) })));
  }

  async cells(context: GatewayContext, notebook: Notebook): Promise<CellBody[]> {
    return Promise.all((await this.queries.cells(context, notebook)).map((cell) => this.cell(context, notebook, cell)));
  }

  /** One cell of the notebook as of its version; NOT_FOUND when the notebook does not hold it (any more). */
  async cellOf(context: GatewayContext, notebook: Notebook, cellId: string): Promise<CellBody> {
    const cell = (await this.queries.cells(context, notebook)).find((candidate) => candidate.id === cellId);
    if (!cell) throw gatewayError('NOT_FOUND', 'cell not found');
    return this.cell(context, notebook, cell);
  }

  async event(context: GatewayContext, event: NotebookEvent): Promise<NotebookEventBody> {
    const actor = await this.queries.actor(context, event);
    return {
      notebookId: event.notebookId,
      version: event.version,
      type: event.type,
      occurredAt: event.occurredAt.toISOString(),
      actor: actor && this.user(actor),
      data: event.data,
    };
  }

  /** A cell of a notebook the caller may see; its output is the one a run just gave it, else the latest recorded (batched). */
  async cell(context: GatewayContext, notebook: Notebook, cell: Cell): Promise<CellBody> {
    const output = cell.output !== undefined ? cell.output : await context.loaders.cellOutput.load({ notebookId: notebook.id, cellId: cell.id });
    return {
      id: cell.id,
      notebookId: notebook.id,
      notebookVersion: notebook.version,
      kind: cell.kind,
      value: cell.value,
      position: cell.position,
      isClosed: cell.isClosed,
      name: cell.name,
      references: cell.references,
      output: output && this.output(output),
      createdAt: cell.createdAt.toISOString(),
      updatedAt: cell.updatedAt.toISOString(),
    };
  }

  private output(output: CellOutputModel): CellOutputBody {
    return { ...output, executedAt: output.executedAt.toISOString() };
  }
}
