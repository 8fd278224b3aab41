import { Module } from '@nestjs/common';
import { EventStoreModule, platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { join } from 'node:path';
import type { z } from 'zod';
import { SearchModule } from './search/search.module';

export const searchEnv = platformEnv(4104);
export type SearchConfig = z.infer<typeof searchEnv>;

@Module({})
export class SearchServiceModule {}

export const searchService: ServiceDefinition<SearchConfig> = {
  name: 'search-service',
  env: searchEnv,
  module: (config) => ({
    module: SearchServiceModule,
    imports: [
      PlatformModule.forRoot({
        service: 'search-service',
        config,
        database: { schema: 'search', migrationsFolder: join(__dirname, '..', 'migrations') },
      }),
      EventStoreModule.forRoot(),
      SearchModule,
    ],
  }),
};
