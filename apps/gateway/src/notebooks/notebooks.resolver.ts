import { Args, Context, ID, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { CellKind } from '@notebooks/contracts';
import { analyzeCell } from '@notebooks/notebook-domain';
import { User } from '../auth/auth.models';
import type { GatewayContext } from '../graphql/context';
import { gatewayError, requireViewer } from '../graphql/errors';
import { NotebookPageLimits, NotebookQueries } from './notebook-queries';
import { NotebookReads } from './notebook-reads';
import {
  Cell,
  CellOutputModel,
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

const { defaultFirst: DEFAULT_PAGE_SIZE, defaultHistoryFirst: DEFAULT_HISTORY_PAGE } = NotebookPageLimits;

/** Notebook queries and the fields of a notebook, read from the `read` schema and batched per request. */
@Resolver(() => Notebook)
export class NotebooksResolver {
  constructor(
    private readonly reads: NotebookReads,
    private readonly queries: NotebookQueries,
  ) {}

  @Query(() => Notebook, {
    nullable: true,
    description: 'Null when absent or not visible to the caller. With minVersion, waits (bounded) for that version.',
  })
  notebook(
    @Args('id', { type: () => ID }) id: string,
    @Args('minVersion', { type: () => Int, nullable: true }) minVersion: number | null,
    @Context() context: GatewayContext,
  ): Promise<Notebook | null> {
    return this.queries.notebook(context, id, minVersion);
  }

  @Query(() => NotebookConnection)
  notebooks(
    @Args('scope', { type: () => NotebookScope, nullable: true, defaultValue: 'MINE' }) scope: NotebookScope | null,
    @Args('first', { type: () => Int, nullable: true, defaultValue: DEFAULT_PAGE_SIZE }) first: number | null,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookConnection> {
    return this.queries.page(context, scope ?? 'MINE', first ?? DEFAULT_PAGE_SIZE, after ?? undefined);
  }

  @ResolveField(() => User)
  owner(@Parent() notebook: Notebook, @Context() context: GatewayContext): Promise<User> {
    return this.queries.owner(context, notebook);
  }

  @ResolveField(() => [Cell])
  cells(@Parent() notebook: Notebook, @Context() context: GatewayContext): Promise<Cell[]> {
    return this.queries.cells(context, notebook);
  }

  @ResolveField(() => [Collaborator])
  collaborators(@Parent() notebook: Notebook, @Context() context: GatewayContext): Promise<Collaborator[]> {
    return this.queries.collaborators(context, notebook);
  }

  @ResolveField(() => [NotebookEvent], { description: 'Events oldest first, after the given version.' })
  history(
    @Parent() notebook: Notebook,
    @Args('afterVersion', { type: () => Int, nullable: true, defaultValue: 0 }) afterVersion: number | null,
    @Args('first', { type: () => Int, nullable: true, defaultValue: DEFAULT_HISTORY_PAGE }) first: number | null,
    @Context() context: GatewayContext,
  ): Promise<NotebookEvent[]> {
    return this.queries.history(context, notebook, afterVersion ?? 0, first ?? DEFAULT_HISTORY_PAGE);
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
        notebookId: notebook.id,
        kind: cell.kind,
        value: cell.value,
        position,
        isClosed: cell.isClosed,
        ...analysis(cell.cellId, cell.kind, cell.value),
        createdAt: new Date(cellTimes[cell.cellId]?.createdAt ?? at ?? 0),
        updatedAt: new Date(cellTimes[cell.cellId]?.updatedAt ?? at ?? 0),
        output: null, // outputs are not part of time travel
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
  forkedFrom(@Parent() notebook: Notebook, @Context() context: GatewayContext): Promise<Notebook | null> {
    return this.queries.forkedFrom(context, notebook);
  }
}

@Resolver(() => Cell)
export class CellResolver {
  /** A Cell reached through a notebook that was visible to the caller, so its output is too. */
  @ResolveField(() => CellOutputModel, {
    nullable: true,
    description: 'The latest execution result; null until the cell has run. Always null in a snapshot: outputs are not part of time travel.',
  })
  async output(@Parent() cell: Cell, @Context() context: GatewayContext): Promise<CellOutputModel | null> {
    if (cell.output !== undefined) return cell.output;
    return context.loaders.cellOutput.load({ notebookId: cell.notebookId, cellId: cell.id });
  }
}

@Resolver(() => NotebookEvent)
export class NotebookEventResolver {
  constructor(private readonly queries: NotebookQueries) {}

  /** Null when the actor is unknown (a system event, or a user no longer known) or left out. */
  @ResolveField(() => User, { nullable: true })
  actor(@Parent() event: NotebookEvent, @Context() context: GatewayContext): Promise<User | null> {
    return this.queries.actor(context, event);
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
  constructor(private readonly queries: NotebookQueries) {}

  @ResolveField(() => User)
  user(@Parent() collaborator: Collaborator, @Context() context: GatewayContext): Promise<User> {
    return this.queries.collaboratorUser(context, collaborator);
  }
}
