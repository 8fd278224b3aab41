import type { SearchReply, SearchRequest } from '@notebooks/contracts';
import type { AccessChange, SearchDocument, SearchIndex } from './search-index';
import { parseSearchText } from './search-text';

interface NotebookEntry {
  ownerId: string;
  visibility: string;
  deleted: boolean;
  version: number;
  collaborators: Set<string>;
}

/**
 * The index in memory, for unit specs of what writes it. Its search is deliberately plain: a
 * document matches when it contains every word of one alternative (as a substring, any case; phrases
 * as their words), title
 * matches first; access is filtered as the port demands.
 */
export class InMemorySearchIndex implements SearchIndex {
  readonly notebooks = new Map<string, NotebookEntry>();
  /** Keyed `<notebookId>/` for a notebook's own document, `<notebookId>/<cellId>` for a cell's. */
  readonly documents = new Map<string, { notebookId: string; cellId: string | null; title: string; description: string | null; source: string }>();

  async versionOf(notebookId: string): Promise<number> {
    return this.notebooks.get(notebookId)?.version ?? 0;
  }

  async record(notebookId: string, version: number, change: AccessChange): Promise<void> {
    const entry = this.notebooks.get(notebookId) ?? { ownerId: '', visibility: 'PRIVATE', deleted: false, version: 0, collaborators: new Set<string>() };
    if (change.ownerId !== undefined) entry.ownerId = change.ownerId;
    if (change.visibility !== undefined) entry.visibility = change.visibility;
    if (change.deleted !== undefined) entry.deleted = change.deleted;
    for (const userId of change.revoked) entry.collaborators.delete(userId);
    for (const userId of change.granted) entry.collaborators.add(userId);
    entry.version = version;
    this.notebooks.set(notebookId, entry);
  }

  async index(documents: readonly SearchDocument[]): Promise<void> {
    for (const document of documents) {
      const key = `${document.notebookId}/${document.cellId ?? ''}`;
      const stored = this.documents.get(key) ?? { notebookId: document.notebookId, cellId: document.cellId, title: '', description: null, source: '' };
      if (document.cellId === null) {
        if (document.title !== undefined) stored.title = document.title;
        if (document.description !== undefined) stored.description = document.description;
      } else {
        stored.source = document.source;
      }
      this.documents.set(key, stored);
    }
  }

  async remove(notebookId: string, which: readonly string[] | 'cells' | 'all'): Promise<void> {
    for (const [key, document] of this.documents) {
      if (document.notebookId !== notebookId) continue;
      const removed = which === 'all' || (which === 'cells' ? document.cellId !== null : document.cellId !== null && which.includes(document.cellId));
      if (removed) this.documents.delete(key);
    }
  }

  async search({ query, first, viewerId }: SearchRequest): Promise<SearchReply> {
    const alternatives = parseSearchText(query).alternatives.map(({ words, phrases }) => ({ words: [...words, ...phrases.flat()] }));
    const readable = (notebookId: string) => {
      const notebook = this.notebooks.get(notebookId);
      if (!notebook || notebook.deleted) return false;
      return notebook.visibility === 'PUBLIC' || (viewerId !== null && (notebook.ownerId === viewerId || notebook.collaborators.has(viewerId)));
    };
    const matches = [...this.documents.values()]
      .filter((document) => readable(document.notebookId))
      .map((document) => {
        const text = document.cellId === null ? `${document.title}\n${document.description ?? ''}` : document.source;
        const lower = text.toLowerCase();
        const found = alternatives.some(({ words }) => words.length > 0 && words.every((word) => lower.includes(word)));
        const inTitle = document.cellId === null && alternatives.some(({ words }) => words.length > 0 && words.every((word) => document.title.toLowerCase().includes(word)));
        return { document, text, found, score: inTitle ? 2 : 1 };
      })
      .filter((match) => match.found)
      .sort((a, b) => b.score - a.score);
    return {
      hits: matches.slice(0, first).map(({ document, text, score }) => ({ notebookId: document.notebookId, cellId: document.cellId, snippet: text, score })),
      total: matches.length,
    };
  }
}
