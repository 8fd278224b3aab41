import { Module } from '@nestjs/common';
import { platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { join } from 'node:path';

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
    ],
  }),
};
