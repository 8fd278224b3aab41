import { Controller, Delete, Get, HttpCode, Post, Put, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayContexts, type GatewayContext } from '../graphql/context';
import { gatewayError, parseInput, requireViewer } from '../graphql/errors';
import { NotebookCommands } from '../notebooks/notebook-commands';
import { NotebookQueries } from '../notebooks/notebook-queries';
import type { Notebook } from '../notebooks/notebook.models';
import { SearchService } from '../search/search.service';
import { RestErrorFilter } from './rest-error.filter';
import { etag, expectedVersion, parseHeaders } from './rest-http';
import { RestViews } from './rest-views';
import {
  AddCellBody,
  ChangeHeaders,
  CreateHeaders,
  CreateNotebookBody,
  EventsQuery,
  ExpectedVersionBody,
  IdParams,
  NotebookListQuery,
  NotebookReadQuery,
  SearchQuery,
  UpdateNotebookBody,
  type CellBody,
  type CellListBody,
  type NotebookBody,
  type NotebookEventPageBody,
  type NotebookPageBody,
  type SearchResultBody,
} from './rest.schemas';

/**
 * `/api/notebooks`: notebooks, their cells and history, and search, over the services GraphQL uses.
 * Changes answer the resource as of the version they produced (read-your-writes), with that
 * version as ETag; `If-Match` or `expectedVersion` make a stale change a 409 CONFLICT.
 */
@Controller('api/notebooks')
@UseFilters(RestErrorFilter)
export class NotebooksController {
  constructor(
    private readonly contexts: GatewayContexts,
    private readonly queries: NotebookQueries,
    private readonly commands: NotebookCommands,
    private readonly searches: SearchService,
    private readonly views: RestViews,
  ) {}

  @Get()
  async list(@Req() request: FastifyRequest): Promise<NotebookPageBody> {
    const context = await this.contexts.create(request);
    const { scope, first, after } = parseInput(NotebookListQuery, request.query);
    const page = await this.queries.page(context, scope, first, after);
    return {
      notebooks: await Promise.all(page.edges.map((edge) => this.views.summary(context, edge.node))),
      totalCount: page.totalCount,
      pageInfo: page.pageInfo,
    };
  }

  @Post()
  @HttpCode(201)
  async create(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<NotebookBody> {
    const context = await this.contexts.create(request);
    requireViewer(context);
    const { 'Idempotency-Key': idempotencyKey } = parseHeaders(CreateHeaders, request);
    const { title, description, visibility } = parseInput(CreateNotebookBody, request.body);
    const change = await this.commands.send(context, { type: 'CreateNotebook', title, description: description ?? null, visibility }, { idempotencyKey });
    const notebook = await this.commands.notebookAt(change, context);
    void reply.header('location', `/api/notebooks/${notebook.id}`).header('etag', etag(notebook.version));
    return this.views.notebook(context, notebook);
  }

  @Get('search')
  async search(@Req() request: FastifyRequest): Promise<SearchResultBody> {
    const context = await this.contexts.create(request);
    const { q, first } = parseInput(SearchQuery, request.query);
    const result = await this.searches.search(context, q, first);
    const hits = await Promise.all(
      result.hits.map(async ({ notebook, cellId, snippet, score }) => ({ notebook: await this.views.summary(context, notebook), cellId, snippet, score })),
    );
    return { hits, total: result.total };
  }

  @Get(':id')
  async get(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<NotebookBody> {
    const context = await this.contexts.create(request);
    const notebook = await this.visible(context, request);
    void reply.header('etag', etag(notebook.version));
    return this.views.notebook(context, notebook);
  }

  @Put(':id')
  async update(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<NotebookBody> {
    const context = await this.contexts.create(request);
    requireViewer(context);
    const { id } = parseInput(IdParams, request.params);
    const headers = parseHeaders(ChangeHeaders, request);
    const body = parseInput(UpdateNotebookBody, request.body);
    const change = await this.commands.send(
      context,
      { type: 'UpdateNotebook', notebookId: id, title: body.title, description: body.description, visibility: body.visibility },
      { expectedVersion: expectedVersion(headers['If-Match'], body.expectedVersion), idempotencyKey: headers['Idempotency-Key'] },
    );
    const notebook = await this.commands.notebookAt(change, context);
    void reply.header('etag', etag(notebook.version));
    return this.views.notebook(context, notebook);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Req() request: FastifyRequest): Promise<void> {
    const context = await this.contexts.create(request);
    requireViewer(context);
    const { id } = parseInput(IdParams, request.params);
    const headers = parseHeaders(ChangeHeaders, request);
    const body = parseInput(ExpectedVersionBody.optional(), request.body);
    const change = await this.commands.send(
      context,
      { type: 'DeleteNotebook', notebookId: id },
      { expectedVersion: expectedVersion(headers['If-Match'], body?.expectedVersion), idempotencyKey: headers['Idempotency-Key'] },
    );
    // The deletion is in the log either way; waiting only spares the caller seeing it in a list afterwards.
    await this.commands.settled(change);
  }

  @Get(':id/cells')
  async cells(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<CellListBody> {
    const context = await this.contexts.create(request);
    const notebook = await this.visible(context, request);
    void reply.header('etag', etag(notebook.version));
    return { cells: await this.views.cells(context, notebook) };
  }

  @Post(':id/cells')
  @HttpCode(201)
  async addCell(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<CellBody> {
    const context = await this.contexts.create(request);
    requireViewer(context);
    const { id } = parseInput(IdParams, request.params);
    const headers = parseHeaders(ChangeHeaders, request);
    const { kind, value, position, expectedVersion: inBody } = parseInput(AddCellBody, request.body ?? {});
    const change = await this.commands.send(
      context,
      { type: 'AddCell', notebookId: id, kind, value, position },
      { expectedVersion: expectedVersion(headers['If-Match'], inBody), idempotencyKey: headers['Idempotency-Key'] },
    );
    const notebook = await this.commands.notebookAt(change, context);
    const cell = await this.views.cellOf(context, notebook, change.cellId ?? '');
    void reply.header('location', `/api/cells/${cell.id}`).header('etag', etag(notebook.version));
    return cell;
  }

  @Get(':id/events')
  async events(@Req() request: FastifyRequest): Promise<NotebookEventPageBody> {
    const context = await this.contexts.create(request);
    const { id } = parseInput(IdParams, request.params);
    const { afterVersion, first } = parseInput(EventsQuery, request.query);
    const notebook = await this.found(this.queries.notebook(context, id, undefined));
    const events = await Promise.all((await this.queries.history(context, notebook, afterVersion, first)).map((event) => this.views.event(context, event)));
    const endVersion = events.at(-1)?.version ?? null;
    return { events, pageInfo: { hasNextPage: (endVersion ?? afterVersion) < notebook.version, endVersion } };
  }

  /** The notebook of the route, as of `minVersion` if asked; NOT_FOUND alike when absent or hidden. */
  private async visible(context: GatewayContext, request: FastifyRequest): Promise<Notebook> {
    const { id } = parseInput(IdParams, request.params);
    const { minVersion } = parseInput(NotebookReadQuery, request.query);
    return this.found(this.queries.notebook(context, id, minVersion));
  }

  private async found(notebook: Promise<Notebook | null>): Promise<Notebook> {
    const found = await notebook;
    if (!found) throw gatewayError('NOT_FOUND', 'notebook not found');
    return found;
  }
}
