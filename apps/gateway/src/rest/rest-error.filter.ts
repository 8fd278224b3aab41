import { ArgumentsHost, Catch, Logger } from '@nestjs/common';
import { ErrorCode } from '@notebooks/contracts';
import { RpcException } from '@notebooks/platform';
import type { FastifyReply } from 'fastify';
import { GraphQLError } from 'graphql';
import { HttpErrorFilter } from '../graphql/http-error.filter';
import { isUnavailable } from '../graphql/errors';
import type { ErrorBody } from './rest.schemas';

/** The HTTP status of each contract error code. */
export const REST_STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL_SERVER_ERROR: 500,
  UNAVAILABLE: 503,
};

type RestError = ErrorBody['error'];

/**
 * What a REST route's failure tells the client, with the codes, messages and details GraphQL gives
 * for the same mistake: `{ error: { code, message, ...details } }` under the code's HTTP status,
 * `Retry-After` when a rate limit says when. Anything else is the global filter's: HTTP errors
 * keep their status, and an unexpected error is a 500 with no internals.
 */
@Catch()
export class RestErrorFilter extends HttpErrorFilter {
  private readonly log = new Logger(RestErrorFilter.name);

  override catch(exception: unknown, host: ArgumentsHost): void {
    const error = restError(exception) ?? this.unavailable(exception);
    if (!error) return super.catch(exception, host);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (error.code === 'RATE_LIMITED' && typeof error.retryAfterSeconds === 'number') reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSeconds))));
    if (error.code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer');
    const body: ErrorBody = { error };
    void reply.status(REST_STATUS[error.code]).send(body);
  }

  private unavailable(exception: unknown): RestError | undefined {
    if (!isUnavailable(exception)) return undefined;
    this.log.warn(`a dependency is unavailable: ${(exception as Error).message}`);
    return { code: 'UNAVAILABLE', message: 'a service this needs is unavailable; retry shortly' };
  }
}

/** A failure meant for clients (a contract code from a service or from the gateway's checks); undefined for anything else. */
export function restError(exception: unknown): RestError | undefined {
  if (exception instanceof RpcException) {
    const message = exception.code === 'INTERNAL_SERVER_ERROR' ? 'internal error' : exception.message;
    return { ...exception.details, code: exception.code, message };
  }
  if (exception instanceof GraphQLError) {
    const { code, http: _http, ...details } = exception.extensions;
    const known = ErrorCode.safeParse(code);
    if (known.success && known.data !== 'INTERNAL_SERVER_ERROR') return { ...details, code: known.data, message: exception.message };
  }
  return undefined;
}
