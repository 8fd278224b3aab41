import { z } from 'zod';

/** NATS request/reply subjects of search-service (queue group: one replica answers). */
export const SearchSubjects = {
  search: 'rpc.search.query',
} as const;

export const SearchLimits = { maxQueryLength: 500, maxFirst: 100, defaultFirst: 20 } as const;

/** C0 and C1 controls become spaces: Postgres cannot take NUL, and none of them means anything to a search. */
function controlsAsSpaces(text: string): string {
  return text.replace(/\p{Cc}/gu, ' ');
}

/**
 * Search text as people type it, in the syntax of web search engines: words, `"a phrase"`, `or`,
 * `-without`. Anything else in it is just text: no character can break the query. Control
 * characters count as spaces; the length limit applies to the text as sent.
 */
export const SearchQuery = z
  .string()
  .max(SearchLimits.maxQueryLength, `a search is at most ${SearchLimits.maxQueryLength} characters`)
  .overwrite((text) => controlsAsSpaces(text.toWellFormed()))
  .trim()
  .min(1, 'a search needs some text');

/**
 * The request on `SearchSubjects.search`: the caller's best matches among the notebooks they may
 * read (owner, collaborator, or public; `viewerId` null is an anonymous caller: public only).
 */
export const SearchRequest = z.object({
  query: SearchQuery,
  first: z.number().int().min(1).max(SearchLimits.maxFirst),
  viewerId: z.uuid().nullable(),
});
export type SearchRequest = z.infer<typeof SearchRequest>;

/** One matching document: a notebook's title and description (`cellId` null) or one cell's source. */
export const SearchHit = z.object({
  notebookId: z.string(),
  cellId: z.string().nullable(),
  /** Text around the match, HTML-escaped, with the matches wrapped in `<mark>…</mark>`. */
  snippet: z.string(),
  /** Higher is better; comparable within one answer only. */
  score: z.number(),
});
export type SearchHit = z.infer<typeof SearchHit>;

export const SearchReply = z.object({
  /** Best first. */
  hits: z.array(SearchHit),
  /** Every matching document the caller may read (the hits are the first of them). */
  total: z.number().int().min(0),
});
export type SearchReply = z.infer<typeof SearchReply>;
