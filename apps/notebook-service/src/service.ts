import { Module } from '@nestjs/common';
import { EventStoreModule, platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { join } from 'node:path';
import { z } from 'zod';
import { NotebooksModule } from './notebooks/notebooks.module';

export const notebookEnv = platformEnv(4101).extend({
  /** Share-by-email lookups each user may make per hour (each says whether an email has an account). */
  SHARE_LOOKUPS_PER_HOUR: z.coerce.number().int().min(1).default(100),
});
export type NotebookConfig = z.infer<typeof notebookEnv>;

@Module({})
export class NotebookModule {}

export const notebookService: ServiceDefinition<NotebookConfig> = {
  name: 'notebook-service',
  env: notebookEnv,
  module: (config) => ({
    module: NotebookModule,
    imports: [
      PlatformModule.forRoot({
        service: 'notebook-service',
        config,
        database: { schema: 'notebook', migrationsFolder: join(__dirname, '..', 'migrations') },
      }),
      EventStoreModule.forRoot(),
      NotebooksModule,
    ],
  }),
};
