import { Args, Context, Int, Query, Resolver } from '@nestjs/graphql';
import { SearchLimits } from '@notebooks/contracts';
import type { GatewayContext } from '../graphql/context';
import { SearchResult } from './search.models';
import { SearchService } from './search.service';

@Resolver(() => SearchResult)
export class SearchResolver {
  constructor(private readonly searches: SearchService) {}

  @Query(() => SearchResult, { description: 'Full-text search over titles, descriptions and cell sources the caller may see.' })
  search(
    @Args('query') query: string,
    @Args('first', { type: () => Int, nullable: true, defaultValue: SearchLimits.defaultFirst }) first: number | null,
    @Context() context: GatewayContext,
  ): Promise<SearchResult> {
    return this.searches.search(context, query, first ?? SearchLimits.defaultFirst);
  }
}
