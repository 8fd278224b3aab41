import { Module } from '@nestjs/common';
import { EventStoreModule, platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { ProjectionsModule } from '@notebooks/projector';
import { join } from 'node:path';
import type { z } from 'zod';
import { READ_MODEL_PROJECTIONS } from './read-model/projections';

export const projectionEnv = platformEnv(4105);
export type ProjectionConfig = z.infer<typeof projectionEnv>;

@Module({})
export class ProjectionModule {}

export const projectionService: ServiceDefinition<ProjectionConfig> = {
  name: 'projection-service',
  env: projectionEnv,
  module: (config) => ({
    module: ProjectionModule,
    imports: [
      PlatformModule.forRoot({
        service: 'projection-service',
        config,
        database: { schema: 'read', migrationsFolder: join(__dirname, '..', 'migrations') },
      }),
      EventStoreModule.forRoot(),
      ProjectionsModule.forRoot(READ_MODEL_PROJECTIONS),
    ],
  }),
};
