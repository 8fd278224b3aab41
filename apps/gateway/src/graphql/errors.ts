import { Logger } from '@nestjs/common';
import { unwrapResolverError } from '@apollo/server/errors';
import { ErrorCode, validationError } from '@notebooks/contracts';
import { isTransient, RpcException } from '@notebooks/platform';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { z } from 'zod';
import type { GatewayContext, Viewer } from './context';

const logger = new Logger('GraphQL');

/** HTTP status of each contract error code, where the whole response fails (e.g. context creation). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
};

/** Apollo's and graphql-armor's own codes for a request the client got wrong. */
const CLIENT_MISTAKES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/** An error with a contract code, for resolvers and the context to throw. */
export function gatewayError(code: ErrorCode, message: string, details: Record<string, unknown> = {}): GraphQLError {
  const status = STATUS[code];
  return new GraphQLError(message, { extensions: { code, ...details, ...(status ? { http: { status } } : {}) } });
}

/** Validates at the edge with the schema the service behind uses, so bad input never travels. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const { code, message } = validationError(result.error);
  throw gatewayError(code, message);
}

/** The signed-in caller, or UNAUTHENTICATED. */
export function requireViewer(context: GatewayContext): Viewer {
  if (!context.viewer) throw gatewayError('UNAUTHENTICATED', 'sign in first: send `Authorization: Bearer <accessToken>`');
  return context.viewer;
}

/** Postgres: the read schema is not there yet (projection-service has not migrated it). */
const UNDEFINED_TABLE = '42P01';

/** A dependency that is down or not ready yet (NATS, a service, the read schema): UNAVAILABLE, safe to retry. */
export function isUnavailable(error: unknown): boolean {
  return isTransient(error) || (error as { code?: unknown } | null)?.code === UNDEFINED_TABLE;
}

/**
 * The one place errors become what clients see: a contract `extensions.code`, the message of
 * errors meant for clients, details such as `currentVersion` or `retryAfterSeconds`, and nothing
 * else — no stack traces, no internal messages.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const base = { message: formatted.message, ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  if (original instanceof RpcException) {
    const { code } = original;
    const message = code === 'INTERNAL_SERVER_ERROR' ? 'internal error' : original.message;
    return { ...base, message, extensions: { ...(original.details ?? {}), code } };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && ErrorCode.safeParse(code).success && code !== 'INTERNAL_SERVER_ERROR') {
    const { http: _http, stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
    return { ...base, message: formatted.message.replace(/^Context creation failed: /, ''), extensions: { ...extensions, code } };
  }
  if (typeof code === 'string' && CLIENT_MISTAKES.has(code)) {
    return { ...base, extensions: { code: 'BAD_USER_INPUT' } };
  }
  if (isUnavailable(original)) {
    logger.warn(`a dependency is unavailable: ${(original as Error).message}`);
    return { ...base, extensions: { code: 'UNAVAILABLE' }, message: 'a service this needs is unavailable; retry shortly' };
  }
  logger.error({ err: original }, 'unexpected error in a GraphQL operation');
  return { message: 'internal error', ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
