import { Module } from '@nestjs/common';
import { SearchResolver } from './search.resolver';

/** `Query.search`, answered by search-service over NATS. */
@Module({ providers: [SearchResolver] })
export class SearchModule {}
