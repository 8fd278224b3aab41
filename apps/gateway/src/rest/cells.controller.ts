import { Controller, Delete, Get, HttpCode, Post, Put, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NotebookExecutions } from '../executions/notebook-executions';
import { GatewayContexts, type GatewayContext } from '../graphql/context';
import { gatewayError, parseInput, requireViewer } from '../graphql/errors';
import { NotebookCommands } from '../notebooks/notebook-commands';
import { NotebookQueries } from '../notebooks/notebook-queries';
import type { Notebook } from '../notebooks/notebook.models';
import { RestErrorFilter } from './rest-error.filter';
import { etag, expectedVersion, parseHeaders } from './rest-http';
import { RestViews } from './rest-views';
import { ChangeHeaders, ExpectedVersionBody, IdParams, RunCellBody, UpdateCellBody, type CellBody, type ExecutionReportBody } from './rest.schemas';

/**
 * `/api/cells/:id`: a cell by its own id. The notebook holding it is found in the read model and
 * must be visible to the caller, so a cell of a hidden notebook is NOT_FOUND like a missing one;
 * changes then go to notebook-service (which checks roles again) and runs to execution-service.
 */
@Controller('api/cells')
@UseFilters(RestErrorFilter)
export class CellsController {
  constructor(
    private readonly contexts: GatewayContexts,
    private readonly queries: NotebookQueries,
    private readonly commands: NotebookCommands,
    private readonly views: RestViews,
    private readonly executions: NotebookExecutions,
  ) {}

  @Get(':id')
  async get(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<CellBody> {
    const context = await this.contexts.create(request);
    const { id } = parseInput(IdParams, request.params);
    const notebook = await this.notebookOf(context, id);
    void reply.header('etag', etag(notebook.version));
    return this.views.cellOf(context, notebook, id);
  }

  @Put(':id')
  async update(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<CellBody> {
    const context = await this.contexts.create(request);
    requireViewer(context);
    const { id } = parseInput(IdParams, request.params);
    const headers = parseHeaders(ChangeHeaders, request);
    const { position, expectedVersion: inBody, ...content } = parseInput(UpdateCellBody, request.body);
    const edits = Object.values(content).some((value) => value !== undefined);
    if (position !== undefined && edits) throw gatewayError('BAD_USER_INPUT', 'position: move a cell in a request of its own, without other fields');
    const notebook = await this.notebookOf(context, id);
    const command =
      position === undefined
        ? { type: 'UpdateCell', notebookId: notebook.id, cellId: id, ...content }
        : { type: 'MoveCell', notebookId: notebook.id, cellId: id, position };
    const change = await this.commands.send(context, command, {
      expectedVersion: expectedVersion(headers['If-Match'], inBody),
      idempotencyKey: headers['Idempotency-Key'],
    });
    const changed = await this.commands.notebookAt(change, context);
    void reply.header('etag', etag(changed.version));
    return this.views.cellOf(context, changed, id);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    const context = await this.contexts.create(request);
    requireViewer(context);
    const { id } = parseInput(IdParams, request.params);
    const headers = parseHeaders(ChangeHeaders, request);
    const body = parseInput(ExpectedVersionBody.optional(), request.body);
    const notebook = await this.notebookOf(context, id);
    const change = await this.commands.send(
      context,
      { type: 'DeleteCell', notebookId: notebook.id, cellId: id },
      { expectedVersion: expectedVersion(headers['If-Match'], body?.expectedVersion), idempotencyKey: headers['Idempotency-Key'] },
    );
    // Deleted either way; waiting spares the caller still seeing the cell in the next read.
    await this.commands.settled(change);
    void reply.header('etag', etag(change.version));
  }

  @Post(':id/execute')
  @HttpCode(200)
  async execute(@Req() request: FastifyRequest): Promise<ExecutionReportBody> {
    const context = await this.contexts.create(request);
    requireViewer(context);
    const { id } = parseInput(IdParams, request.params);
    parseInput(RunCellBody, request.body);
    // Resolved and checked here, so a hidden or unknown cell is NOT_FOUND before execution-service is asked.
    const notebook = await this.notebookOf(context, id);
    const outcome = await this.executions.runCell(context, notebook.id, id);
    const ran = await this.queries.notebook(context, outcome.notebookId, undefined);
    if (!ran) throw gatewayError('NOT_FOUND', 'cell not found');
    const cells = await Promise.all(outcome.cells.map((cell) => this.views.cell(context, ran, cell)));
    return { notebookId: outcome.notebookId, notebookVersion: outcome.notebookVersion, durationMs: outcome.durationMs, cells };
  }

  private async notebookOf(context: GatewayContext, cellId: string): Promise<Notebook> {
    const notebook = await this.queries.notebookOfCell(context, cellId);
    if (!notebook) throw gatewayError('NOT_FOUND', 'cell not found');
    return notebook;
  }
}
