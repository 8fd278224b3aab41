import { Args, Context, Int, Query, Resolver } from '@nestjs/graphql';
import { SearchLimits, SearchReply, SearchRequest, SearchSubjects } from '@notebooks/contracts';
import { NatsRpc } from '@notebooks/platform';
import type { GatewayContext } from '../graphql/context';
import { parseInput } from '../graphql/errors';
import { SearchResult } from './search.models';

/** Search through search-service; every hit's notebook is read (and authorized again) through the request's notebook loader. */
@Resolver(() => SearchResult)
export class SearchResolver {
  constructor(private readonly rpc: NatsRpc) {}

  @Query(() => SearchResult, { description: 'Full-text search over titles, descriptions and cell sources the caller may see.' })
  async search(
    @Args('query') query: string,
    @Args('first', { type: () => Int, nullable: true, defaultValue: SearchLimits.defaultFirst }) first: number | null,
    @Context() context: GatewayContext,
  ): Promise<SearchResult> {
    const request: SearchRequest = parseInput(SearchRequest, { query, first: first ?? SearchLimits.defaultFirst, viewerId: context.viewer?.userId ?? null });
    const reply = SearchReply.parse(await this.rpc.request(SearchSubjects.search, request));
    const notebooks = await Promise.all(reply.hits.map((hit) => context.loaders.notebook.load(hit.notebookId)));
    // A notebook the read model does not have (yet), or no longer shows the caller, is left out: the
    // index and the read model are projected apart and may be a moment out of step.
    const hits = reply.hits.flatMap(({ cellId, snippet, score }, i) => {
      const notebook = notebooks[i];
      return notebook ? [{ notebook, cellId, snippet, score }] : [];
    });
    return { hits, total: Math.max(hits.length, reply.total - (reply.hits.length - hits.length)) };
  }
}
