import { Args, Context, ID, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { CellKind } from '@notebooks/contracts';
import { analyzeCell } from '@notebooks/notebook-domain';
import { RpcException } from '@notebooks/platform';
import { z } from 'zod';
import { User } from '../auth/auth.models';
import type { GatewayContext } from '../graphql/context';
import { gatewayError, parseInput, requireViewer } from '../graphql/errors';
import { encodeCursor, NotebookReads } from './notebook-reads';
import { NotebookVersions } from './notebook-versions';
import {
  Cell,
  Collaborator,
  Notebook,
  NotebookActivity,
  NotebookConnection,
  NotebookContributor,
  NotebookEvent,
  NotebookScope,
  NotebookSnapshot,
  UserActivity,
} from './notebook.models';

/** A page holds at most this many notebooks. */
const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;

const PageSize = z.number().int().min(0).max(MAX_PAGE_SIZE);
const MinVersion = z.number().int().min(1).optional();
const DEFAULT_HISTORY_PAGE = 100;
const AfterVersion = z.number().int().min(0);
const HistoryPageSize = z.number().int().min(0).max(1_000);

/** Notebook queries and the fields of a notebook, read from the `read` schema and batched per request. */
@Resolver(() => Notebook)
export class NotebooksResolver {
  constructor(
    private readonly reads: NotebookReads,
    private readonly versions: NotebookVersions,
  ) {}

  @Query(() => Notebook, {
    nullable: true,
    description: 'Null when absent or not visible to the caller. With minVersion, waits (bounded) for that version.',
  })
  async notebook(
    @Args('id', { type: () => ID }) id: string,
    @Args('minVersion', { type: () => Int, nullable: true }) minVersion: number | null,
    @Context() context: GatewayContext,
  ): Promise<Notebook | null> {
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

  @Query(() => NotebookConnection)
  async notebooks(
    @Args('scope', { type: () => NotebookScope, nullable: true, defaultValue: 'MINE' }) scope: NotebookScope | null,
    @Args('first', { type: () => Int, nullable: true, defaultValue: DEFAULT_PAGE_SIZE }) first: number | null,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookConnection> {
    const size = parseInput(PageSize, first ?? DEFAULT_PAGE_SIZE);
    const page = await this.reads.page(scope ?? 'MINE', context.viewer?.userId ?? null, size, after ?? undefined);
    for (const notebook of page.notebooks) context.loaders.notebook.prime(notebook.id, notebook);
    const edges = page.notebooks.map((node) => ({ cursor: encodeCursor(node), node }));
    return { edges, totalCount: page.totalCount, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @ResolveField(() => User)
  async owner(@Parent() notebook: Notebook, @Context() context: GatewayContext): Promise<User> {
    return shownTo(context, await context.loaders.user.load(notebook.ownerId), notebook.myRole !== null);
  }

  @ResolveField(() => [Cell])
  cells(@Parent() notebook: Notebook, @Context() context: GatewayContext): Promise<Cell[]> {
    return context.loaders.cells.load(notebook);
  }

  @ResolveField(() => [Collaborator])
  async collaborators(@Parent() notebook: Notebook, @Context() context: GatewayContext): Promise<Collaborator[]> {
    const member = notebook.myRole !== null;
    return (await context.loaders.collaborators.load(notebook)).map((collaborator) => ({ ...collaborator, member }));
  }

  @ResolveField(() => [NotebookEvent], { description: 'Events oldest first, after the given version.' })
  async history(
    @Parent() notebook: Notebook,
    @Args('afterVersion', { type: () => Int, nullable: true, defaultValue: 0 }) afterVersion: number | null,
    @Args('first', { type: () => Int, nullable: true, defaultValue: DEFAULT_HISTORY_PAGE }) first: number | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookEvent[]> {
    const after = parseInput(AfterVersion, afterVersion ?? 0);
    const size = parseInput(HistoryPageSize, first ?? DEFAULT_HISTORY_PAGE);
    const rows = await this.reads.history(notebook.id, after, size, notebook.version);
    const member = notebook.myRole !== null;
    return Promise.all(
      rows.map(async (row) => {
        const event = { notebookId: row.notebook_id, version: row.version, type: row.type, occurredAt: row.occurred_at, actorId: row.actor_id, data: row.data, member };
        return withoutHiddenNotebooks(event, context);
      }),
    );
  }

  @ResolveField(() => NotebookSnapshot, { description: 'The notebook as it was at a version (time travel).' })
  async snapshot(
    @Parent() notebook: Notebook,
    @Args('version', { type: () => Int }) version: number,
    @Context() context: GatewayContext,
  ): Promise<NotebookSnapshot> {
    if (version < 1 || version > notebook.version) {
      throw gatewayError('BAD_USER_INPUT', `version: the notebook has versions 1 to ${notebook.version}`, { currentVersion: notebook.version });
    }
    const [{ state, at, cellTimes }, current] = await Promise.all([this.reads.momentAt(notebook.id, version), context.loaders.cells.load(notebook)]);
    // A cell unchanged since then was parsed when projected; only older sources are parsed again.
    const parsed = new Map(current.map((cell) => [cell.id, cell]));
    const analysis = (cellId: string, kind: CellKind, value: string) => {
      const known = parsed.get(cellId);
      return known && known.kind === kind && known.value === value ? { name: known.name, references: known.references } : analyzeCell(kind, value);
    };
    const cells = state.cells.map(
      (cell, position): Cell => ({
        id: cell.cellId,
        kind: cell.kind,
        value: cell.value,
        position,
        isClosed: cell.isClosed,
        ...analysis(cell.cellId, cell.kind, cell.value),
        createdAt: new Date(cellTimes[cell.cellId]?.createdAt ?? at ?? 0),
        updatedAt: new Date(cellTimes[cell.cellId]?.updatedAt ?? at ?? 0),
      }),
    );
    return { version, title: state.title, description: state.description, cells, at: new Date(at ?? 0) };
  }

  @ResolveField(() => NotebookActivity, { nullable: true, description: "Edits, forks and contributors; null unless the caller owns the notebook." })
  async activity(@Parent() notebook: Notebook): Promise<NotebookActivity | null> {
    return notebook.myRole === 'OWNER' ? this.reads.notebookActivity(notebook.id) : null;
  }

  @Query(() => UserActivity, { description: "The caller's own activity across notebooks." })
  async myActivity(@Context() context: GatewayContext): Promise<UserActivity> {
    return this.reads.userActivity(requireViewer(context).userId);
  }

  /** Null when the source is gone or the caller may not see it. */
  @ResolveField(() => Notebook, { nullable: true })
  async forkedFrom(@Parent() notebook: Notebook, @Context() context: GatewayContext): Promise<Notebook | null> {
    return notebook.forkedFromId === null ? null : context.loaders.notebook.load(notebook.forkedFromId);
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
async function withoutHiddenNotebooks(event: NotebookEvent, context: GatewayContext): Promise<NotebookEvent> {
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

@Resolver(() => NotebookEvent)
export class NotebookEventResolver {
  /** Null when the actor is unknown (a system event, or a user no longer known) or left out. */
  @ResolveField(() => User, { nullable: true })
  async actor(@Parent() event: NotebookEvent, @Context() context: GatewayContext): Promise<User | null> {
    if (event.actorId === null) return null;
    const user = await context.loaders.user.load(event.actorId).catch((error: unknown) => {
      if (error instanceof RpcException && error.code === 'NOT_FOUND') return null;
      throw error;
    });
    return user && shownTo(context, user, event.member);
  }
}

@Resolver(() => NotebookContributor)
export class NotebookContributorResolver {
  /** Contributors are shown to the notebook's owner only. */
  @ResolveField(() => User)
  user(@Parent() contributor: NotebookContributor, @Context() context: GatewayContext): Promise<User> {
    return context.loaders.user.load(contributor.userId);
  }
}

@Resolver(() => Collaborator)
export class CollaboratorResolver {
  @ResolveField(() => User)
  async user(@Parent() collaborator: Collaborator, @Context() context: GatewayContext): Promise<User> {
    return shownTo(context, await context.loaders.user.load(collaborator.userId), collaborator.member === true);
  }
}
