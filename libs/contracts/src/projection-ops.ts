import { z } from 'zod';

/**
 * NATS request/reply subject on which the service running `projection` retries its dead letters
 * (queue group: one replica answers). One subject per projection, so each service answers its own.
 */
export function retryDeadLettersSubject(projection: string): string {
  return `rpc.projection.dead-letters.retry.${projection}`;
}

/**
 * Re-applies parked commits of one projection with its own apply function, oldest first per
 * aggregate, one transaction per aggregate. A commit that applies leaves the dead-letter table; one
 * that fails again stays with the new error and one more attempt.
 */
export const RetryDeadLettersRequest = z.object({
  /** A subject token too (see retryDeadLettersSubject). */
  projection: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  /** Stream sequences of the parked commits to retry; every parked commit of the projection when absent. */
  sequences: z.array(z.number().int().positive()).min(1).max(10_000).optional(),
});
export type RetryDeadLettersRequest = z.infer<typeof RetryDeadLettersRequest>;

export const RetriedCommit = z.object({
  sequence: z.number().int(),
  aggregateId: z.string(),
  /**
   * `applied`: in the read model now (or it already was) and no longer parked; `failed`: still
   * parked with `error`; `waiting`: not tried, an earlier commit of its aggregate is still parked.
   */
  outcome: z.enum(['applied', 'failed', 'waiting']),
  error: z.string().optional(),
});
export type RetriedCommit = z.infer<typeof RetriedCommit>;

export const RetryDeadLettersReply = z.object({
  projection: z.string(),
  applied: z.number().int(),
  /** Of the commits asked for, how many are still parked. */
  stillParked: z.number().int(),
  /** Every commit asked for, in stream order. */
  commits: z.array(RetriedCommit),
});
export type RetryDeadLettersReply = z.infer<typeof RetryDeadLettersReply>;
