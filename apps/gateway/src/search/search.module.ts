import { Module } from '@nestjs/common';
import { SearchResolver } from './search.resolver';
import { SearchService } from './search.service';

/** Search, answered by search-service over NATS: `Query.search`, and the service REST shares. */
@Module({ providers: [SearchService, SearchResolver], exports: [SearchService] })
export class SearchModule {}
