import { z } from 'zod';

/**
 * Error codes clients see (GraphQL `extensions.code`, REST `error.code`) and services exchange in
 * request/reply answers. One list for the whole platform.
 */
export const ErrorCode = z.enum([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** The error half of a request/reply answer. `details` carries e.g. `currentVersion` for CONFLICT. */
export const RpcError = z.object({
  code: ErrorCode,
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type RpcError = z.infer<typeof RpcError>;

/** Every request/reply answer is either `{ ok: true, data }` or `{ ok: false, error }`. */
export const RpcReply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({ ok: z.literal(false), error: RpcError }),
]);
export type RpcReply<T = unknown> = { ok: true; data: T } | { ok: false; error: RpcError };

/** Marks a schema check whose failure means "too large" rather than "malformed" (`params` of a zod refinement). */
export const TOO_LARGE = { code: 'PAYLOAD_TOO_LARGE' } as const;

/**
 * What a failed validation tells the client: every problem with its path, as BAD_USER_INPUT — or
 * PAYLOAD_TOO_LARGE when a size limit (a check carrying TOO_LARGE) is what failed.
 */
export function validationError(error: z.ZodError): RpcError {
  const tooLarge = error.issues.some((issue) => issue.code === 'custom' && issue.params?.['code'] === TOO_LARGE.code);
  const message = error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; ');
  return { code: tooLarge ? 'PAYLOAD_TOO_LARGE' : 'BAD_USER_INPUT', message };
}
