import { Module } from '@nestjs/common';
import { EventStoreModule, platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { join } from 'node:path';
import { ReadModelModule } from './read-model/read-model.module';

export const ProjectionEnv = platformEnv(4105);
export type ProjectionConfig = ReturnType<typeof ProjectionEnv.parse>;

@Module({})
export class ProjectionModule {}

export const projectionService: ServiceDefinition<ProjectionConfig> = {
  name: 'projection-service',
  env: ProjectionEnv,
  module: (config) => ({
    module: ProjectionModule,
    imports: [
      PlatformModule.forRoot({
        service: 'projection-service',
        config,
        database: { schema: 'read', migrationsFolder: join(__dirname, '..', 'migrations') },
      }),
      EventStoreModule.forRoot(),
      ReadModelModule,
    ],
  }),
};
