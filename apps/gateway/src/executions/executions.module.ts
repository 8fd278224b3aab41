import { Module } from '@nestjs/common';
import { NotebooksModule } from '../notebooks/notebooks.module';
import { ExecutionsResolver } from './executions.resolver';
import { NotebookExecutions } from './notebook-executions';

/** Explicit runs through the gateway; execution-service does the work. */
@Module({
  imports: [NotebooksModule],
  providers: [NotebookExecutions, ExecutionsResolver],
  exports: [NotebookExecutions],
})
export class ExecutionsModule {}
