import { Controller, Get, UseFilters } from '@nestjs/common';
import { OPENAPI_PATH, restApiDocument } from './openapi';
import { RestErrorFilter } from './rest-error.filter';

@Controller()
@UseFilters(RestErrorFilter)
export class OpenApiController {
  /** Built once: the routes and schemas do not change while the gateway runs. */
  private readonly document = restApiDocument();

  @Get(OPENAPI_PATH)
  openapi(): ReturnType<typeof restApiDocument> {
    return this.document;
  }
}
