import { Injectable } from '@nestjs/common';
import { SearchReply, SearchRequest, SearchSubjects } from '@notebooks/contracts';
import { NatsRpc } from '@notebooks/platform';
import type { GatewayContext } from '../graphql/context';
import { parseInput } from '../graphql/errors';
import type { SearchResult } from './search.models';

/** Search through search-service; every hit's notebook is read (and authorized again) through the request's notebook loader. */
@Injectable()
export class SearchService {
  constructor(private readonly rpc: NatsRpc) {}

  async search(context: GatewayContext, query: string, first: number): Promise<SearchResult> {
    const request: SearchRequest = parseInput(SearchRequest, { query, first, viewerId: context.viewer?.userId ?? null });
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
