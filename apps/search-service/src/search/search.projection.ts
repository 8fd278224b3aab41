import { eventDecoder, type CommitMessage, type NotebookEvent } from '@notebooks/contracts';
import { shouldApply } from '@notebooks/projector';
import type { AccessChange, SearchIndex } from './search-index';

const decode = eventDecoder('notebooks');

/**
 * Folds a notebook commit into the search index. The version the index holds for the notebook is
 * compared first: an applied commit is skipped, one that is ahead throws ProjectionGap (its
 * predecessor comes first). The notebook's access and version are recorded before its documents
 * change, which follow the commit's events in order.
 */
export async function projectSearchCommit(index: SearchIndex, commit: CommitMessage): Promise<void> {
  const last = commit.events.at(-1);
  const id = commit.streamId;
  if (!last || !shouldApply(commit, await index.versionOf(id))) return;
  const events = commit.events.map((envelope): NotebookEvent => decode(envelope));
  await index.record(id, last.version, accessChange(events));
  for (const event of events) await indexEvent(index, id, event);
}

/** What a commit's events change, together, about who may read the notebook. */
export function accessChange(events: readonly NotebookEvent[]): AccessChange {
  const change: { ownerId?: string; visibility?: AccessChange['visibility']; deleted?: boolean } = {};
  const granted = new Set<string>();
  const revoked = new Set<string>();
  for (const event of events) {
    switch (event.type) {
      case 'notebook.created':
        change.ownerId = event.data.ownerId;
        change.visibility = event.data.visibility;
        break;
      case 'notebook.updated':
      case 'notebook.restored':
        if (event.data.visibility !== undefined) change.visibility = event.data.visibility;
        break;
      case 'notebook.deleted':
        change.deleted = true;
        break;
      case 'notebook.shared':
        granted.add(event.data.userId);
        revoked.delete(event.data.userId);
        break;
      case 'notebook.unshared':
        revoked.add(event.data.userId);
        granted.delete(event.data.userId);
        break;
      default:
        break;
    }
  }
  return { ...change, granted: [...granted], revoked: [...revoked] };
}

async function indexEvent(index: SearchIndex, notebookId: string, event: NotebookEvent): Promise<void> {
  switch (event.type) {
    case 'notebook.created':
      return index.index([{ notebookId, cellId: null, title: event.data.title, description: event.data.description }]);
    case 'notebook.updated': {
      const { title, description } = event.data;
      if (title === undefined && description === undefined) return;
      return index.index([{ notebookId, cellId: null, ...(title !== undefined && { title }), ...(description !== undefined && { description }) }]);
    }
    case 'notebook.deleted':
      return index.remove(notebookId, 'all');
    case 'notebook.restored': {
      const { title, description, cells } = event.data;
      await index.index([{ notebookId, cellId: null, title, description }]);
      await index.remove(notebookId, 'cells');
      return index.index(cells.map((cell) => ({ notebookId, cellId: cell.cellId, source: cell.value })));
    }
    case 'cell.created':
      return index.index([{ notebookId, cellId: event.data.cellId, source: event.data.value }]);
    case 'cell.updated': {
      const { cellId, changes } = event.data;
      if (changes.value === undefined) return;
      return index.index([{ notebookId, cellId, source: changes.value }]);
    }
    case 'cell.deleted':
      return index.remove(notebookId, [event.data.cellId]);
    case 'notebook.forked':
    case 'notebook.shared':
    case 'notebook.unshared':
    case 'cell.moved':
      return;
  }
}
