import { Module } from '@nestjs/common';
import { platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { join } from 'node:path';

export const SearchEnv = platformEnv(4104);
export type SearchConfig = ReturnType<typeof SearchEnv.parse>;

@Module({})
export class SearchModule {}

export const searchService: ServiceDefinition<SearchConfig> = {
  name: 'search-service',
  env: SearchEnv,
  module: (config) => ({
    module: SearchModule,
    imports: [
      PlatformModule.forRoot({
        service: 'search-service',
        config,
        database: { schema: 'search', migrationsFolder: join(__dirname, '..', 'migrations') },
      }),
    ],
  }),
};
