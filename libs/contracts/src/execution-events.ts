import { z } from 'zod';
import type { DomainEvent } from './commit';

/** How a cell's run ended. */
export const ExecutionStatus = z.enum(['OK', 'ERROR', 'TIMEOUT']);
export type ExecutionStatus = z.infer<typeof ExecutionStatus>;

const CellRun = z.object({
  cellId: z.string().min(1),
  /** The notebook version the run computed from. */
  notebookVersion: z.number().int().min(1),
  /** Inspector-style text form of the value, bounded in size. */
  display: z.string().nullable(),
  /** The value as JSON, when it has a JSON form and is small enough; null otherwise. */
  value: z.json(),
  /** Rendered, sanitized HTML for MARKDOWN and HTML cells. */
  html: z.string().nullable(),
  durationMs: z.number().min(0),
  executedAt: z.iso.datetime({ offset: true }),
});

export const CellExecutedV1 = CellRun.extend({ status: z.literal('OK'), error: z.null() });
export type CellExecuted = z.infer<typeof CellExecutedV1>;

export const CellFailedV1 = CellRun.extend({ status: z.enum(['ERROR', 'TIMEOUT']), error: z.string() });
export type CellFailed = z.infer<typeof CellFailedV1>;

/**
 * Every event of the EXECUTIONS stream (subject `executions.<notebookId>`), with its current data.
 * Versioned like notebook events: `…V1` schemas are frozen once published.
 */
export type ExecutionEvent = DomainEvent<'cell.executed', CellExecuted> | DomainEvent<'cell.failed', CellFailed>;
