import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { ErrorCode } from '@notebooks/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';

const CODES: Record<number, ErrorCode> = {
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'BAD_USER_INPUT',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

/**
 * Errors raised by HTTP itself, before a resolver runs (a body over the limit, malformed JSON, an
 * unknown route), answered in the contract's shape: GraphQL errors on /graphql, `{ error: { code,
 * message } }` elsewhere. GraphQL operations' own errors are formatted by `formatError`.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType<string>() !== 'http') throw exception;
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const status = exception instanceof HttpException ? exception.getStatus() : statusOf(exception);
    if (request.url.startsWith('/health/') && exception instanceof HttpException) {
      // Health answers keep terminus's shape, as on every other service: probes and the ops CLI read which check failed and why.
      void reply.status(status).send(exception.getResponse());
      return;
    }
    const code = CODES[status] ?? 'INTERNAL_SERVER_ERROR';
    if (code === 'INTERNAL_SERVER_ERROR') this.logger.error({ err: exception }, 'unexpected HTTP error');
    const message = code === 'INTERNAL_SERVER_ERROR' ? 'internal error' : messageOf(exception, status);
    const body = request.url.startsWith('/graphql') ? { errors: [{ message, extensions: { code } }] } : { error: { code, message } };
    void reply.status(code === 'INTERNAL_SERVER_ERROR' ? 500 : status).send(body);
  }
}

function statusOf(exception: unknown): number {
  const status = (exception as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

function messageOf(exception: unknown, status: number): string {
  if (status === 413) return 'the request body is larger than the gateway accepts';
  const message = exception instanceof HttpException ? exception.message : (exception as { message?: unknown }).message;
  return typeof message === 'string' ? message : 'bad request';
}
