import { z } from 'zod';
import type { SandboxRequest } from './sandbox';

/**
 * Messages between execution-service and its sandbox workers (Node IPC, JSON). The service trusts
 * nothing a worker says: a worker runs hostile code, so its messages are validated like any input.
 */
export type ToWorker = { type: 'init'; runtimeSource: string } | { type: 'run'; runId: number; request: SandboxRequest };

/** Generous ceilings over the sandbox's own bounds (sandbox.ts): a worker that exceeds them is not believed. */
const CellResult = z.object({
  cellId: z.string().max(200),
  status: z.enum(['OK', 'ERROR', 'TIMEOUT']),
  display: z.string().max(20_000).nullable(),
  value: z.json(),
  html: z.string().max(256 * 1024).nullable(),
  error: z.string().max(20_000).nullable(),
  durationMs: z.number().min(0),
});

export const FromWorker = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('result'), runId: z.number().int(), results: z.array(CellResult), reusable: z.boolean() }),
]);
export type FromWorker = z.infer<typeof FromWorker>;
