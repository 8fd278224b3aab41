import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { gatewayError, parseInput } from '../graphql/errors';

/**
 * Validates headers with a schema whose keys are header names as documented (`If-Match`): Node
 * gives them lower-cased.
 */
export function parseHeaders<S extends z.ZodObject>(schema: S, request: FastifyRequest): z.infer<S> {
  const headers = Object.fromEntries(Object.keys(schema.shape).map((name) => [name, request.headers[name.toLowerCase()]]));
  return parseInput(schema, headers);
}

/** The ETag of an answer about a notebook or its cells: the notebook version, which `If-Match` sends back. */
export function etag(version: number): string {
  return `"${version}"`;
}

/** The version a change expects, from `If-Match` or the body's `expectedVersion`; both must agree. */
export function expectedVersion(ifMatch: number | undefined, inBody: number | undefined): number | undefined {
  if (ifMatch !== undefined && inBody !== undefined && ifMatch !== inBody) {
    throw gatewayError('BAD_USER_INPUT', `expectedVersion: ${inBody} differs from If-Match ${ifMatch}; send one of them`);
  }
  return ifMatch ?? inBody;
}
