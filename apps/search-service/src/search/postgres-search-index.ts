import type { SearchReply, SearchRequest } from '@notebooks/contracts';
import { RpcException } from '@notebooks/platform';
import { sql, type GeneratedAlways, type Kysely, type RawBuilder } from 'kysely';
import type { AccessChange, SearchDocument, SearchIndex } from './search-index';
import { ANGLE_BRACKET, fuzzyLookups, fuzzyQuery, MARK_END, MARK_START, parseSearchText, renderSnippet, termsOf } from './search-text';

/** The `search` schema (see migrations/). */
export interface SearchTables {
  'search.notebooks': { id: string; owner_id: string; visibility: string; deleted: boolean; version: number };
  'search.collaborators': { notebook_id: string; user_id: string };
  'search.documents': {
    notebook_id: string;
    /** Null: the notebook's own document. */
    cell_id: string | null;
    title: string | null;
    description: string | null;
    source: string | null;
    document: GeneratedAlways<string>;
  };
  /** Every word (letters only) the documents have held: what typos and partial words are matched against. */
  'search.terms': { term: string };
}

/** ts_rank_cd's weights of D, C, B, A: cell source (C) 0.2, description (B) 0.4, title (A) 1.0. */
const WEIGHTS = '{0.1, 0.2, 0.4, 1.0}';
/** ts_rank_cd normalization: 1 divides by 1 + log(length), so repetition in a long cell does not win; 32 maps the rank into [0, 1). */
const NORMALIZATION = 1 | 32;
/** A dictionary term stands in for a search word when this similar to it (the better of similarity and word similarity). */
const MIN_TERM_SIMILARITY = 0.5;
const SIMILAR_TERMS_PER_WORD = 3;
/** A snippet's text is parsed as the document was (`<` as ANGLE_BRACKET), and cannot hold marks of its own. */
const HEADLINE_FROM = `<${ANGLE_BRACKET}${MARK_START}${MARK_END}`;
const HEADLINE_TO = `${ANGLE_BRACKET} `;
/** Short texts are shown whole; longer ones as up to two fragments around the matches. */
const SHORT_TEXT = 280;
const HEADLINE_WHOLE = `StartSel=${MARK_START}, StopSel=${MARK_END}, MaxWords=60, MinWords=40, ShortWord=3`;
const HEADLINE_FRAGMENTS = `StartSel=${MARK_START}, StopSel=${MARK_END}, MaxWords=18, MinWords=8, ShortWord=3, MaxFragments=2, FragmentDelimiter=" … "`;
/** A search that runs longer is cancelled (and answered UNAVAILABLE) before the caller's request times out. */
const SEARCH_TIMEOUT_MS = 4_000;
const QUERY_CANCELED = '57014';
/** Dictionary terms are added in slices of this many. */
const TERMS_PER_INSERT = 5_000;

/**
 * The search index on Postgres full-text search. Writes name their tables schema-qualified through
 * the query builder, so a replay can send them to its staging tables.
 *
 * A search takes two statements in one read-only transaction: the first turns the text into the
 * exact query (`websearch_to_tsquery`: any text is valid) and looks its words up in the term
 * dictionary by trigram similarity (pg_trgm); the second ranks the documents either query matches
 * among those the viewer may read, counts them, and makes snippets for the page alone.
 */
export class PostgresSearchIndex implements SearchIndex {
  constructor(private readonly db: Kysely<SearchTables>) {}

  async versionOf(notebookId: string): Promise<number> {
    const row = await this.db.selectFrom('search.notebooks').select('version').where('id', '=', notebookId).forUpdate().executeTakeFirst();
    return row?.version ?? 0;
  }

  async record(notebookId: string, version: number, change: AccessChange): Promise<void> {
    const { ownerId, visibility, deleted } = change;
    if (ownerId !== undefined) {
      const row = { id: notebookId, owner_id: ownerId, visibility: visibility ?? 'PRIVATE', deleted: deleted ?? false, version };
      await this.db
        .insertInto('search.notebooks')
        .values(row)
        .onConflict((c) => c.column('id').doUpdateSet({ owner_id: row.owner_id, visibility: row.visibility, deleted: row.deleted, version }))
        .execute();
    } else {
      await this.db
        .updateTable('search.notebooks')
        .set({ version, ...(visibility !== undefined && { visibility }), ...(deleted !== undefined && { deleted }) })
        .where('id', '=', notebookId)
        .execute();
    }
    if (change.revoked.length > 0) {
      await this.db.deleteFrom('search.collaborators').where('notebook_id', '=', notebookId).where('user_id', 'in', [...change.revoked]).execute();
    }
    if (change.granted.length > 0) {
      await this.db
        .insertInto('search.collaborators')
        .values(change.granted.map((userId) => ({ notebook_id: notebookId, user_id: userId })))
        .onConflict((c) => c.columns(['notebook_id', 'user_id']).doNothing())
        .execute();
    }
  }

  async index(documents: readonly SearchDocument[]): Promise<void> {
    if (documents.length === 0) return;
    const texts: string[] = [];
    for (const document of documents) {
      if (document.cellId !== null) continue;
      const { notebookId, title, description } = document;
      const patch = { ...(title !== undefined && { title }), ...(description !== undefined && { description }) };
      await this.db
        .insertInto('search.documents')
        .values({ notebook_id: notebookId, cell_id: null, title: title ?? '', description: description ?? null })
        .onConflict((c) => (Object.keys(patch).length > 0 ? c.constraint('documents_key').doUpdateSet(patch) : c.constraint('documents_key').doNothing()))
        .execute();
      texts.push(title ?? '', description ?? '');
    }
    const cells = documents.flatMap((document) => (document.cellId === null ? [] : [document]));
    // Last write wins within one call, as it would one document at a time.
    const latest = [...new Map(cells.map((cell) => [`${cell.notebookId}/${cell.cellId}`, cell])).values()];
    if (latest.length > 0) {
      await this.db
        .insertInto('search.documents')
        .values(latest.map((cell) => ({ notebook_id: cell.notebookId, cell_id: cell.cellId, source: cell.source })))
        .onConflict((c) => c.constraint('documents_key').doUpdateSet((eb) => ({ source: eb.ref('excluded.source') })))
        .execute();
      texts.push(...latest.map((cell) => cell.source));
    }
    await this.addTerms(termsOf(texts.join('\n')));
  }

  /** Terms only accumulate: one no document holds any more merely widens a search that then finds nothing more. */
  private async addTerms(terms: string[]): Promise<void> {
    for (let start = 0; start < terms.length; start += TERMS_PER_INSERT) {
      const slice = terms.slice(start, start + TERMS_PER_INSERT);
      await this.db
        .insertInto('search.terms')
        .columns(['term'])
        .expression(sql<{ term: string }>`select unnest(${slice}::text[])`)
        .onConflict((c) => c.column('term').doNothing())
        .execute();
    }
  }

  async remove(notebookId: string, which: readonly string[] | 'cells' | 'all'): Promise<void> {
    let query = this.db.deleteFrom('search.documents').where('notebook_id', '=', notebookId);
    if (which === 'cells') query = query.where('cell_id', 'is not', null);
    else if (which !== 'all') {
      if (which.length === 0) return;
      query = query.where('cell_id', 'in', [...which]);
    }
    await query.execute();
  }

  async search({ query, first, viewerId }: SearchRequest): Promise<SearchReply> {
    try {
      return await this.db
        .transaction()
        .setAccessMode('read only')
        .execute(async (trx) => {
          const parsed = parseSearchText(query);
          const { exact, similar } = await this.prepare(trx, query, fuzzyLookups(parsed));
          const fuzzy = fuzzyQuery(parsed, similar);
          if (exact === null && fuzzy === null) return { hits: [], total: 0 };
          return this.ranked(trx, exact === null ? null : sql`${exact}::tsquery`, fuzzy === null ? null : sql`to_tsquery('english', ${fuzzy})`, first, viewerId);
        });
    } catch (error) {
      if ((error as { code?: unknown }).code === QUERY_CANCELED) throw new RpcException('UNAVAILABLE', 'the search took too long; try more specific words');
      throw error;
    }
  }

  /**
   * The exact query (null when it holds nothing an index can find: only stop words, only
   * exclusions, no words at all) and, per word, the dictionary's most similar terms.
   */
  private async prepare(trx: Kysely<SearchTables>, query: string, lookups: string[]): Promise<{ exact: string | null; similar: Record<string, string[]> }> {
    const { rows } = await sql<{ exact: string; indexable: boolean; similar: Record<string, string[]> | null }>`
      select set_config('statement_timeout', ${String(SEARCH_TIMEOUT_MS)}, true) as timeout,
             q::text as exact,
             querytree(q) not in ('', 'T') as indexable,
             (select json_object_agg(w, terms) from unnest(${lookups}::text[]) w,
               lateral (
                 select array_agg(term order by score desc, term) as terms from (
                   select t.term, greatest(similarity(t.term, w), word_similarity(w, t.term)) as score
                   from search.terms t
                   where (t.term % w or w <% t.term) and t.term <> w
                   order by score desc, t.term limit ${SIMILAR_TERMS_PER_WORD}
                 ) best where score >= ${MIN_TERM_SIMILARITY}
               ) lookup
               where terms is not null) as similar
      from websearch_to_tsquery('english', ${query}) q`.execute(trx);
    const row = rows[0];
    return { exact: row?.indexable ? row.exact : null, similar: row?.similar ?? {} };
  }

  /**
   * Ranks in tiers, then by `ts_rank_cd` within a tier: 2 + rank for documents whose title matches
   * the search as typed, 1 + rank for other exact matches, and the rank of the forgiving query
   * alone (typos, partial words) for the rest. Readers are filtered in the same statement, so the
   * total counts only what the viewer may read; snippets are made for the page alone.
   */
  private async ranked(trx: Kysely<SearchTables>, exact: RawBuilder<unknown> | null, fuzzy: RawBuilder<unknown> | null, first: number, viewerId: string | null): Promise<SearchReply> {
    const none = sql`null::tsquery`;
    const e = exact ?? none;
    const f = fuzzy ?? none;
    const matched = sql.join(
      [exact && sql`d.document @@ ${exact}`, fuzzy && sql`d.document @@ ${fuzzy}`].filter((clause) => clause !== null),
      sql` or `,
    );
    const readable =
      viewerId === null
        ? sql`n.visibility = 'PUBLIC'`
        : sql`(n.visibility = 'PUBLIC' or n.owner_id = ${viewerId}::uuid
                or exists (select 1 from search.collaborators c where c.notebook_id = n.id and c.user_id = ${viewerId}::uuid))`;
    const { rows } = await sql<{ notebook_id: string; cell_id: string | null; score: number; total: string; headline: string }>`
      with matches as (
        select d.ctid as row, d.notebook_id, d.cell_id,
          case when d.document @@ ${e}
            then (case when d.cell_id is null and ts_filter(d.document, '{a}') @@ ${e} then 2 else 1 end) + ts_rank_cd(${WEIGHTS}, d.document, ${e}, ${NORMALIZATION})
            else ts_rank_cd(${WEIGHTS}, d.document, ${f}, ${NORMALIZATION})
          end::float8 as score
        from search.documents d
        join search.notebooks n on n.id = d.notebook_id
        where (${matched}) and not n.deleted and ${readable}
      ),
      page as (
        select * from matches order by score desc, notebook_id, cell_id nulls first limit ${first}
      )
      select p.notebook_id, p.cell_id, p.score, (select count(*) from matches) as total,
        ts_headline('english', t.text, coalesce(${e} || ${f}, ${e}, ${f}), case when length(t.text) <= ${SHORT_TEXT} then ${HEADLINE_WHOLE} else ${HEADLINE_FRAGMENTS} end) as headline
      -- ctid names the row within this statement, which is all it is used for
      from page p join search.documents d on d.ctid = p.row,
        lateral (select translate(case when d.cell_id is null then concat_ws(E'\n', d.title, d.description) else d.source end, ${HEADLINE_FROM}, ${HEADLINE_TO}) as text) t
      order by p.score desc, p.notebook_id, p.cell_id nulls first`.execute(trx);
    return {
      hits: rows.map((row) => ({ notebookId: row.notebook_id, cellId: row.cell_id, snippet: renderSnippet(row.headline), score: row.score })),
      // `first` is at least 1: no rows means no matches.
      total: Number(rows[0]?.total ?? 0),
    };
  }
}
