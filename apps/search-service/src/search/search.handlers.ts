import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { SearchRequest, SearchSubjects } from '@notebooks/contracts';
import { NatsRpc } from '@notebooks/platform';
import { SearchIndex } from './search-index';

/** Answers searches over NATS (queue group: one replica answers each). */
@Injectable()
export class SearchHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(SearchIndex) private readonly index: SearchIndex,
  ) {}

  onApplicationBootstrap(): void {
    this.rpc.serve(SearchSubjects.search, SearchRequest, (request) => this.index.search(request));
  }
}
