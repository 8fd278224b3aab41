import { Inject, Injectable } from '@nestjs/common';
import { CollaboratorRole, Visibility, type ReadModelTables } from '@notebooks/contracts';
import { EventStore } from '@notebooks/event-store';
import { DATABASE } from '@notebooks/platform';
import { sql, type Kysely } from 'kysely';
import { NotebookReads } from '../notebooks/notebook-reads';
import { NotebookVersions } from '../notebooks/notebook-versions';
import type { Cell } from '../notebooks/notebook.models';
import type { ChannelStart } from './notebook-channel';

/** What the real-time streams read from the `read` schema. */
@Injectable()
export class RealtimeReads {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<ReadModelTables>,
    @Inject(EventStore) private readonly store: EventStore,
    private readonly reads: NotebookReads,
    private readonly versions: NotebookVersions,
  ) {}

  /**
   * Who may read a notebook and the version that reflects, in one statement (so one snapshot);
   * null when the read model has no such notebook. A notebook the log has but the read model not
   * yet (created a moment ago) is waited for, bounded.
   */
  async start(notebookId: string): Promise<ChannelStart | null> {
    const start = await this.access(notebookId);
    if (start) return start;
    const { version } = await this.store.position({ category: 'notebooks', id: notebookId });
    return version > 0 && (await this.versions.reached(notebookId, 1)) ? this.access(notebookId) : null;
  }

  /**
   * As {@link start}, once the read model has reached `version` or the wait ran out (at most
   * `waitMs`, else READ_YOUR_WRITES_TIMEOUT_MS): the answer may be older, callers check its version.
   */
  async startAtLeast(notebookId: string, version: number, waitMs?: number): Promise<ChannelStart | null> {
    const reached = this.versions.reached(notebookId, version);
    if (waitMs === undefined) await reached;
    else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([reached, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]).finally(() => clearTimeout(timer));
    }
    return this.access(notebookId);
  }

  /** The notebook's cells once the read model has reached `version` (or the wait ran out). */
  async cells(notebookId: string, version: number): Promise<Cell[]> {
    await this.versions.reached(notebookId, version);
    return (await this.reads.cells([notebookId])).get(notebookId) ?? [];
  }

  private async access(notebookId: string): Promise<ChannelStart | null> {
    const row = await this.db
      .selectFrom('read.notebooks as n')
      .select(['n.owner_id', 'n.visibility', 'n.deleted', 'n.version'])
      .select(
        sql<[string, string][]>`coalesce((select json_agg(json_build_array(c.user_id, c.role)) from read.collaborators c where c.notebook_id = n.id), '[]'::json)`.as(
          'collaborators',
        ),
      )
      .where('n.id', '=', notebookId)
      .executeTakeFirst();
    if (!row) return null;
    return {
      version: row.version,
      access: {
        ownerId: row.owner_id,
        visibility: Visibility.parse(row.visibility),
        deleted: row.deleted,
        roles: new Map(row.collaborators.map(([userId, role]) => [userId, CollaboratorRole.parse(role)])),
      },
    };
  }
}
