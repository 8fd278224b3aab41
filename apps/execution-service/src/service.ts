import { Module } from '@nestjs/common';
import { platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { join } from 'node:path';
import type { z } from 'zod';

export const executionEnv = platformEnv(4103);
export type ExecutionConfig = z.infer<typeof executionEnv>;

@Module({})
export class ExecutionModule {}

export const executionService: ServiceDefinition<ExecutionConfig> = {
  name: 'execution-service',
  env: executionEnv,
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
