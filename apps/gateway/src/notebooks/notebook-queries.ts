import { Injectable } from '@nestjs/common';
import { RpcException } from '@notebooks/platform';
import { z } from 'zod';
import type { User } from '../auth/auth.models';
import type { GatewayContext } from '../graphql/context';
import { gatewayError, parseInput } from '../graphql/errors';
import { encodeCursor, NotebookReads } from './notebook-reads';
import { NotebookVersions } from './notebook-versions';
import type { Cell, Collaborator, Notebook, NotebookConnection, NotebookEvent, NotebookScope } from './notebook.models';

/** Limits of notebook pages and history pages, for every API that serves them. */
export const NotebookPageLimits = { maxFirst: 100, defaultFirst: 20, maxHistoryFirst: 1_000, defaultHistoryFirst: 100 } as const;

const PageSize = z.number().int().min(0).max(NotebookPageLimits.maxFirst);
const MinVersion = z.number().int().min(1).optional();
const AfterVersion = z.number().int().min(0);
const HistoryPageSize = z.number().int().min(0).max(NotebookPageLimits.maxHistoryFirst);

/**
 * Reads of notebooks as one caller may see them, for GraphQL resolvers and REST routes alike:
 * visibility, read-your-writes waits, and which emails and linked notebooks the caller may learn.
 */
@Injectable()
export class NotebookQueries {
  constructor(
    private readonly reads: NotebookReads,
    private readonly versions: NotebookVersions,
  ) {}

  /** Null when absent or not visible to the caller. With minVersion, waits (bounded) for that version. */
  async notebook(context: GatewayContext, id: string, minVersion: number | null | undefined): Promise<Notebook | null> {
    const version = parseInput(MinVersion, minVersion ?? undefined);
    if (!z.uuid().safeParse(id).success) return null;
    if (version === undefined) return context.loaders.notebook.load(id);
    // Waits for the notebook to be visible to the caller at that version. A hidden notebook waits out
    // the bound like a missing one and answers null like it: neither its existence nor its version shows.
    const viewerId = context.viewer?.userId ?? null;
    const visible = async () => (await this.reads.notebooks([id], viewerId)).get(id);
    const found = await this.versions.poll(id, async () => {
      const notebook = await visible();
      return notebook && notebook.version >= version ? notebook : undefined;
    });
    if (found) {
      context.loaders.notebook.clear(id).prime(id, found);
      return found;
    }
    if (await visible()) throw gatewayError('UNAVAILABLE', `version ${version} of the notebook is not readable yet; retry shortly`, { minVersion: version });
    return null;
  }

  /** A page of a scope's notebooks, newest first. */
  async page(context: GatewayContext, scope: NotebookScope, first: number, after: string | undefined): Promise<NotebookConnection> {
    const size = parseInput(PageSize, first);
    const page = await this.reads.page(scope, context.viewer?.userId ?? null, size, after);
    for (const notebook of page.notebooks) context.loaders.notebook.prime(notebook.id, notebook);
    const edges = page.notebooks.map((node) => ({ cursor: encodeCursor(node), node }));
    return { edges, totalCount: page.totalCount, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  async owner(context: GatewayContext, notebook: Notebook): Promise<User> {
    return shownTo(context, await context.loaders.user.load(notebook.ownerId), notebook.myRole !== null);
  }

  cells(context: GatewayContext, notebook: Notebook): Promise<Cell[]> {
    return context.loaders.cells.load(notebook);
  }

  async collaborators(context: GatewayContext, notebook: Notebook): Promise<Collaborator[]> {
    const member = notebook.myRole !== null;
    return (await context.loaders.collaborators.load(notebook)).map((collaborator) => ({ ...collaborator, member }));
  }

  async collaboratorUser(context: GatewayContext, collaborator: Collaborator): Promise<User> {
    return shownTo(context, await context.loaders.user.load(collaborator.userId), collaborator.member === true);
  }

  /** The notebook this one was forked from; null when there is none or the caller may not see it. */
  forkedFrom(context: GatewayContext, notebook: Notebook): Promise<Notebook | null> {
    return notebook.forkedFromId === null ? Promise.resolve(null) : context.loaders.notebook.load(notebook.forkedFromId);
  }

  /** The notebook holding a cell, if the caller may see it: a cell of a hidden notebook is as absent as a missing one. */
  async notebookOfCell(context: GatewayContext, cellId: string): Promise<Notebook | null> {
    const notebooks = await Promise.all((await this.reads.notebooksOfCell(cellId)).map((id) => context.loaders.notebook.load(id)));
    return notebooks.find((notebook) => notebook !== null) ?? null;
  }

  /** Events oldest first, after `afterVersion`. */
  async history(context: GatewayContext, notebook: Notebook, afterVersion: number, first: number): Promise<NotebookEvent[]> {
    const after = parseInput(AfterVersion, afterVersion);
    const size = parseInput(HistoryPageSize, first);
    const rows = await this.reads.history(notebook.id, after, size, notebook.version);
    const member = notebook.myRole !== null;
    return Promise.all(
      rows.map(async (row) => {
        const event = { notebookId: row.notebook_id, version: row.version, type: row.type, occurredAt: row.occurred_at, actorId: row.actor_id, data: row.data, member };
        return withoutHiddenNotebooks(event, context);
      }),
    );
  }

  /** Null when the actor is unknown (a system event, or a user no longer known) or left out. */
  async actor(context: GatewayContext, event: NotebookEvent): Promise<User | null> {
    if (event.actorId === null) return null;
    const user = await context.loaders.user.load(event.actorId).catch((error: unknown) => {
      if (error instanceof RpcException && error.code === 'NOT_FOUND') return null;
      throw error;
    });
    return user && shownTo(context, user, event.member);
  }
}

/**
 * A user as the caller may see them: their email only to themselves and to members of the notebook
 * they were reached through (a public notebook's readers see names, not addresses).
 */
function shownTo(context: GatewayContext, user: User, member: boolean): User {
  return member || user.id === context.viewer?.userId ? user : { ...user, email: '' };
}

/**
 * History mentions other notebooks (a fork of this one, the source of this fork). One the caller
 * may not see is left out, with who made it: its existence is not theirs to learn.
 */
export async function withoutHiddenNotebooks(event: NotebookEvent, context: GatewayContext): Promise<NotebookEvent> {
  const data = event.data as Record<string, unknown>;
  if (event.type === 'notebook.forked' && typeof data['forkId'] === 'string' && !(await context.loaders.notebook.load(data['forkId']))) {
    return { ...event, actorId: null, data: { atVersion: data['atVersion'] } };
  }
  const source = data['forkedFrom'] as { notebookId?: unknown; version?: unknown } | null | undefined;
  if (event.type === 'notebook.created' && typeof source?.notebookId === 'string' && !(await context.loaders.notebook.load(source.notebookId))) {
    return { ...event, data: { ...data, forkedFrom: { version: source.version } } };
  }
  return event;
}
