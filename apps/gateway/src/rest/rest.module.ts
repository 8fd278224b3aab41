import { Module } from '@nestjs/common';
import { ExecutionsModule } from '../executions/executions.module';
import { NotebooksModule } from '../notebooks/notebooks.module';
import { SearchModule } from '../search/search.module';
import { AuthController } from './auth.controller';
import { CellsController } from './cells.controller';
import { NotebooksController } from './notebooks.controller';
import { OpenApiController } from './openapi.controller';
import { RestViews } from './rest-views';

/**
 * The REST facade under `/api` (the Server-Sent-Events routes live in the realtime module): thin
 * controllers over the services GraphQL uses, inputs validated with zod, the OpenAPI document
 * generated from the same schemas at `/api/openapi.json`.
 */
@Module({
  imports: [NotebooksModule, SearchModule, ExecutionsModule],
  controllers: [NotebooksController, CellsController, AuthController, OpenApiController],
  providers: [RestViews],
  exports: [RestViews],
})
export class RestModule {}
