import { Inject, Injectable } from '@nestjs/common';
import { CellKind, ExecutionStatus, Visibility, type ReadModelTables } from '@notebooks/contracts';
import { IncompleteHistory, permissionOf, type NotebookMoment, type NotebookRole } from '@notebooks/notebook-domain';
import { notebookMomentAt } from '@notebooks/notebook-read-model';
import { DATABASE } from '@notebooks/platform';
import { sql, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import { gatewayError } from '../graphql/errors';
import { Cell, CellOutputModel, Collaborator, Notebook, NotebookActivity, UserActivity, type NotebookScope, type Role } from './notebook.models';

type NotebookRow = Selectable<ReadModelTables['read.notebooks']> & { collaborator_role: string | null };

/** Where a page of a notebook list starts: after this (created_at, id), in descending order. */
const Cursor = z.tuple([z.iso.datetime(), z.uuid()]);

export function encodeCursor(notebook: Pick<Notebook, 'createdAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([notebook.createdAt.toISOString(), notebook.id])).toString('base64url');
}

function decodeCursor(cursor: string): [Date, string] {
  try {
    const [createdAt, id] = Cursor.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return [new Date(createdAt), id];
  } catch {
    throw gatewayError('BAD_USER_INPUT', 'after: not a cursor this API gave out');
  }
}

function incompleteHistory() {
  return gatewayError('UNAVAILABLE', "this notebook's history is incomplete in the read model until it is rebuilt from the log (ops replay read-notebooks)");
}

/** A cell of a notebook: outputs are kept per (notebook, cell). */
export interface CellRef {
  notebookId: string;
  cellId: string;
}

export const cellKey = (cell: CellRef) => `${cell.notebookId}/${cell.cellId}`;

export interface NotebookPage {
  notebooks: Notebook[];
  hasNextPage: boolean;
  totalCount: number;
}

/**
 * Queries on the `read` schema (owned by projection-service; the gateway only reads it). Every
 * notebook returned has passed the role matrix for the viewer: what they may not see is absent.
 */
@Injectable()
export class NotebookReads {
  constructor(@Inject(DATABASE) private readonly db: Kysely<ReadModelTables>) {}

  /** The notebooks among `ids` the viewer may see, keyed by id. */
  async notebooks(ids: readonly string[], viewerId: string | null): Promise<Map<string, Notebook>> {
    const valid = ids.filter((id) => z.uuid().safeParse(id).success);
    if (valid.length === 0) return new Map();
    const rows = await this.withViewerRole(viewerId).where('n.id', 'in', valid).where('n.deleted', '=', false).execute();
    const visible = rows.map((row) => toNotebook(row, viewerId)).filter((notebook) => permissionOf(notebook.myRole, notebook.visibility, 'read') === 'allowed');
    return new Map(visible.map((notebook) => [notebook.id, notebook]));
  }

  /** The notebooks holding a cell (one: cell ids are minted per cell, forks included), visible or not. */
  async notebooksOfCell(cellId: string): Promise<string[]> {
    if (!z.uuid().safeParse(cellId).success) return [];
    const rows = await this.db.selectFrom('read.cells').select('notebook_id').where('id', '=', cellId).execute();
    return rows.map((row) => row.notebook_id);
  }

  /** The version the read model has of a notebook (deleted or not, visible or not); 0 when absent. */
  async version(id: string): Promise<number> {
    const row = await this.db.selectFrom('read.notebooks').select('version').where('id', '=', id).executeTakeFirst();
    return row?.version ?? 0;
  }

  /** Newest first, by creation time, which never changes: pages neither skip nor repeat while notebooks are edited. */
  async page(scope: NotebookScope, viewerId: string | null, first: number, after: string | undefined): Promise<NotebookPage> {
    let query = this.withViewerRole(viewerId).where('n.deleted', '=', false);
    if (scope === 'PUBLIC') query = query.where('n.visibility', '=', 'PUBLIC');
    else if (viewerId === null) throw gatewayError('UNAUTHENTICATED', `sign in to list ${scope === 'MINE' ? 'your' : 'shared'} notebooks`);
    else if (scope === 'MINE') query = query.where('n.owner_id', '=', viewerId);
    else query = query.where('c.user_id', 'is not', null);

    const { total } = await query.clearSelect().select((eb) => eb.fn.countAll<string>().as('total')).executeTakeFirstOrThrow();
    let pageQuery = query.orderBy('n.created_at', 'desc').orderBy('n.id', 'desc').limit(first + 1);
    if (after !== undefined) {
      const [createdAt, id] = decodeCursor(after);
      pageQuery = pageQuery.where(sql<boolean>`(n.created_at, n.id) < (${createdAt}, ${id}::uuid)`);
    }
    const rows = await pageQuery.execute();
    return { notebooks: rows.slice(0, first).map((row) => toNotebook(row, viewerId)), hasNextPage: rows.length > first, totalCount: Number(total) };
  }

  /** Cells of each notebook, in order. */
  async cells(notebookIds: readonly string[]): Promise<Map<string, Cell[]>> {
    const rows = await this.db.selectFrom('read.cells').selectAll().where('notebook_id', 'in', notebookIds).orderBy('notebook_id').orderBy('position').execute();
    return groupBy(rows, (row) => row.notebook_id, (row): Cell => ({
      id: row.id,
      notebookId: row.notebook_id,
      kind: CellKind.parse(row.kind),
      value: row.value,
      position: row.position,
      isClosed: row.is_closed,
      name: row.name,
      references: row.references,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }));
  }

  /** The latest output of each of these cells that has one, keyed by {@link cellKey}; one query however many notebooks they span. */
  async cellOutputs(cells: readonly CellRef[]): Promise<Map<string, CellOutputModel>> {
    if (cells.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('read.cell_outputs')
      .selectAll()
      .where('notebook_id', 'in', [...new Set(cells.map((cell) => cell.notebookId))])
      .where('cell_id', 'in', [...new Set(cells.map((cell) => cell.cellId))])
      .execute();
    return new Map(
      rows.map((row): [string, CellOutputModel] => [
        cellKey({ notebookId: row.notebook_id, cellId: row.cell_id }),
        {
          status: ExecutionStatus.parse(row.status),
          display: row.display,
          value: row.value,
          html: row.html,
          error: row.error,
          durationMs: row.duration_ms,
          notebookVersion: row.notebook_version,
          executedAt: row.executed_at,
        },
      ]),
    );
  }

  /** Collaborators of each notebook (the owner is not one), ordered by user id so answers are stable. */
  async collaborators(notebookIds: readonly string[]): Promise<Map<string, Collaborator[]>> {
    const rows = await this.db.selectFrom('read.collaborators').selectAll().where('notebook_id', 'in', notebookIds).orderBy('notebook_id').orderBy('user_id').execute();
    return groupBy(rows, (row) => row.notebook_id, (row): Collaborator => ({ userId: row.user_id, role: toRole(row.role) }));
  }

  /**
   * Events of a notebook after `afterVersion`, oldest first, as many as `first` or up to `headVersion`.
   * UNAVAILABLE rather than a page with holes while its history is incomplete in the read model.
   */
  async history(notebookId: string, afterVersion: number, first: number, headVersion: number) {
    const rows = await this.db
      .selectFrom('read.notebook_events')
      .selectAll()
      .where('notebook_id', '=', notebookId)
      .where('version', '>', afterVersion)
      .orderBy('version')
      .limit(first)
      .execute();
    const expected = Math.min(first, Math.max(0, headVersion - afterVersion));
    if (rows.length < expected || rows.some((row, index) => row.version !== afterVersion + index + 1)) throw incompleteHistory();
    return rows;
  }

  /** The notebook as of `version`; UNAVAILABLE while its history is incomplete in the read model. */
  async momentAt(notebookId: string, version: number): Promise<NotebookMoment> {
    try {
      return await notebookMomentAt(this.db, notebookId, version);
    } catch (error) {
      if (error instanceof IncompleteHistory) throw incompleteHistory();
      throw error;
    }
  }

  /** A notebook's activity, with its contributors, most edits first; null before anything is recorded. */
  async notebookActivity(notebookId: string): Promise<NotebookActivity | null> {
    // Executions come from their own projection (read-executions), which may not have seen the notebook yet.
    const activity = await this.db
      .selectFrom('read.notebook_activity as a')
      .leftJoin('read.notebook_executions as e', 'e.notebook_id', 'a.notebook_id')
      .selectAll('a')
      .select('e.executions')
      .where('a.notebook_id', '=', notebookId)
      .executeTakeFirst();
    if (!activity) return null;
    const contributors = await this.db
      .selectFrom('read.notebook_contributors')
      .selectAll()
      .where('notebook_id', '=', notebookId)
      .orderBy('edits', 'desc')
      .orderBy('user_id')
      .execute();
    return {
      edits: activity.edits,
      forks: activity.forks,
      executions: activity.executions ?? 0,
      lastActivityAt: activity.last_activity_at,
      contributors: contributors.map((row) => ({ userId: row.user_id, edits: row.edits, lastActivityAt: row.last_activity_at })),
    };
  }

  async userActivity(userId: string): Promise<UserActivity> {
    const row = await this.db.selectFrom('read.user_activity').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return { edits: row?.edits ?? 0, notebooksCreated: row?.notebooks_created ?? 0, forks: row?.forks ?? 0, lastActivityAt: row?.last_activity_at ?? null };
  }

  async users(ids: readonly string[]) {
    return this.db.selectFrom('read.users').select(['id', 'email', 'display_name', 'created_at']).where('id', 'in', ids).execute();
  }

  /** Notebooks with the viewer's collaborator role, if any (none for anonymous callers). */
  private withViewerRole(viewerId: string | null) {
    return this.db
      .selectFrom('read.notebooks as n')
      .leftJoin('read.collaborators as c', (join) => join.onRef('c.notebook_id', '=', 'n.id').on('c.user_id', '=', viewerId ?? sql<string>`null`))
      .selectAll('n')
      .select('c.role as collaborator_role');
  }
}

function toRole(role: string): Role {
  return z.enum(['OWNER', 'EDITOR', 'VIEWER']).parse(role);
}

function toNotebook(row: NotebookRow, viewerId: string | null): Notebook {
  const myRole: NotebookRole | null = row.owner_id === viewerId ? 'OWNER' : row.collaborator_role === null ? null : toRole(row.collaborator_role);
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    visibility: Visibility.parse(row.visibility),
    ownerId: row.owner_id,
    forkedFromId: row.forked_from_id,
    myRole,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function groupBy<R, V>(rows: R[], key: (row: R) => string, value: (row: R) => V): Map<string, V[]> {
  const groups = new Map<string, V[]>();
  for (const row of rows) {
    const group = groups.get(key(row)) ?? [];
    group.push(value(row));
    groups.set(key(row), group);
  }
  return groups;
}
