import { Injectable, Logger } from '@nestjs/common';
import { AuthSubjects, UserProfile } from '@notebooks/contracts';
import { NatsRpc, RpcException } from '@notebooks/platform';
import DataLoader from 'dataloader';
import type { User } from '../auth/auth.models';
import { cellKey, NotebookReads, type CellRef } from './notebook-reads';
import type { Cell, CellOutputModel, Collaborator, Notebook } from './notebook.models';

/** A notebook's content as of a version: a newer version is a different key, so a later mutation in the same request never reads a stale cache. */
export interface NotebookAtVersion {
  id: string;
  version: number;
}

const atVersion = (key: NotebookAtVersion) => `${key.id}@${key.version}`;

/**
 * One request's batched reads: however many notebooks a response holds, their owners, cells, cell
 * outputs and collaborators take one query each (DataLoader), not one per notebook or cell.
 */
export interface ReadLoaders {
  /** Null when absent, deleted, or not visible to the viewer. */
  notebook: DataLoader<string, Notebook | null>;
  cells: DataLoader<NotebookAtVersion, Cell[], string>;
  /** A cell's latest output, null until it has run. Cached for the request: a run answers its fresh outputs on the Cells it returns. */
  cellOutput: DataLoader<CellRef, CellOutputModel | null, string>;
  collaborators: DataLoader<NotebookAtVersion, Collaborator[], string>;
  user: DataLoader<string, User>;
}

@Injectable()
export class ReadLoadersFactory {
  private readonly logger = new Logger(ReadLoadersFactory.name);

  constructor(
    private readonly reads: NotebookReads,
    private readonly rpc: NatsRpc,
  ) {}

  create(viewerId: string | null): ReadLoaders {
    return {
      notebook: new DataLoader(async (ids) => {
        const found = await this.reads.notebooks(ids, viewerId);
        return ids.map((id) => found.get(id) ?? null);
      }),
      cells: new DataLoader(
        async (keys) => {
          const found = await this.reads.cells(keys.map((key) => key.id));
          return keys.map((key) => found.get(key.id) ?? []);
        },
        { cacheKeyFn: atVersion },
      ),
      cellOutput: new DataLoader(
        async (cells) => {
          const found = await this.reads.cellOutputs(cells);
          return cells.map((cell) => found.get(cellKey(cell)) ?? null);
        },
        { cacheKeyFn: cellKey },
      ),
      collaborators: new DataLoader(
        async (keys) => {
          const found = await this.reads.collaborators(keys.map((key) => key.id));
          return keys.map((key) => found.get(key.id) ?? []);
        },
        { cacheKeyFn: atVersion },
      ),
      user: new DataLoader((ids) => this.users(ids)),
    };
  }

  /**
   * Users from the read model's directory; one registered a moment ago may not be projected yet,
   * so those few are asked of auth-service, which has them first.
   */
  private async users(ids: readonly string[]): Promise<(User | Error)[]> {
    const rows = await this.reads.users(ids);
    const found = new Map<string, User>(rows.map((row) => [row.id, { id: row.id, email: row.email, displayName: row.display_name, createdAt: row.created_at }]));
    return Promise.all(
      ids.map(async (id) => {
        const known = found.get(id);
        if (known) return known;
        try {
          const profile = UserProfile.parse(await this.rpc.request(AuthSubjects.user, { userId: id }));
          return { ...profile, createdAt: new Date(profile.createdAt) };
        } catch (error) {
          if (!(error instanceof RpcException && error.code === 'NOT_FOUND')) return error instanceof Error ? error : new Error(String(error));
          this.logger.warn(`user ${id} is referenced by a notebook but unknown to auth-service`);
          return new RpcException('NOT_FOUND', 'user not found');
        }
      }),
    );
  }
}
