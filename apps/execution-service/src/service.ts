import { Module } from '@nestjs/common';
import { platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { join } from 'node:path';

export const ExecutionEnv = platformEnv(4103);
export type ExecutionConfig = ReturnType<typeof ExecutionEnv.parse>;

@Module({})
export class ExecutionModule {}

export const executionService: ServiceDefinition<ExecutionConfig> = {
  name: 'execution-service',
  env: ExecutionEnv,
  module: (config) => ({
    module: ExecutionModule,
    imports: [
      PlatformModule.forRoot({
        service: 'execution-service',
        config,
        database: { schema: 'execution', migrationsFolder: join(__dirname, '..', 'migrations') },
      }),
    ],
  }),
};
