import { z } from 'zod';
import type { SandboxRequest } from './sandbox';

/**
 * Messages between execution-service and its sandbox workers (Node IPC, JSON). The service trusts
 * nothing a worker says: a worker runs hostile code, so its messages are validated like any input.
 */
export type ToWorker = { type: 'init'; runtimeSource: string } | { type: 'run'; runId: number; request: SandboxRequest };

const CellResult = z.object({
  cellId: z.string(),
  status: z.enum(['OK', 'ERROR', 'TIMEOUT']),
  display: z.string().nullable(),
  value: z.json(),
  html: z.string().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().min(0),
});

export const FromWorker = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('result'), runId: z.number().int(), results: z.array(CellResult), reusable: z.boolean() }),
]);
export type FromWorker = z.infer<typeof FromWorker>;
