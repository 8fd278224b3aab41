import type { SearchReply, SearchRequest, Visibility } from '@notebooks/contracts';

/**
 * A searchable text of a notebook: its own (title and description; on an update, what is absent
 * stays as it was) or one cell's (its source).
 */
export type SearchDocument =
  | { notebookId: string; cellId: null; title?: string; description?: string | null }
  | { notebookId: string; cellId: string; source: string };

/** What a commit changes about who may read a notebook. */
export interface AccessChange {
  /** Set when the notebook is created. */
  ownerId?: string;
  visibility?: Visibility;
  /** True once the notebook is deleted: it is found no more. */
  deleted?: boolean;
  /** Users given a role (any role reads). */
  granted: readonly string[];
  /** Users whose role was taken away. */
  revoked: readonly string[];
}

/**
 * The search index: documents (a notebook's title and description, each cell's source) and who may
 * read each notebook. The search projection writes it one commit at a time, each bringing a
 * notebook to a version; searches filter by access inside the engine, so what a caller may not
 * read is neither returned nor counted. Postgres full-text search is the one adapter; an external
 * engine would be another, and nothing outside search-service would notice.
 */
export interface SearchIndex {
  /**
   * The notebook version the index reflects, 0 for a notebook it does not know. The projection asks
   * before writing; the notebook stays reserved to the asking writer until its batch ends.
   */
  versionOf(notebookId: string): Promise<number>;
  /** Records that the index reflects `version` of the notebook, with the access the commit changed. */
  record(notebookId: string, version: number, change: AccessChange): Promise<void>;
  /** Adds documents, or replaces them (a notebook's, a cell's). */
  index(documents: readonly SearchDocument[]): Promise<void>;
  /** Removes a notebook's documents: those of the cells named, of every cell, or all of them. */
  remove(notebookId: string, which: readonly string[] | 'cells' | 'all'): Promise<void>;
  /** The best matches the viewer may read, best first, and how many there are in all. */
  search(request: SearchRequest): Promise<SearchReply>;
}
export const SearchIndex = Symbol('SearchIndex');
