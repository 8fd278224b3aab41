import { z } from 'zod';
import { ExecutionStatus } from './execution-events';

/** NATS request/reply subjects of execution-service (queue group: one replica answers). */
export const ExecutionSubjects = {
  runNotebook: 'rpc.execution.run-notebook',
  runCell: 'rpc.execution.run-cell',
} as const;

const Id = z.uuid();

/** Runs every cell of the notebook as it is now. Needs the right to edit the notebook's content. */
export const RunNotebookRequest = z.object({ actorId: Id, notebookId: Id });
export type RunNotebookRequest = z.infer<typeof RunNotebookRequest>;

/** Runs one cell (computing what it depends on) and re-runs its dependents. */
export const RunCellRequest = z.object({ actorId: Id, notebookId: Id, cellId: Id });
export type RunCellRequest = z.infer<typeof RunCellRequest>;

/** One cell's result, as recorded on the EXECUTIONS stream. */
export const CellOutput = z.object({
  cellId: z.string().min(1),
  status: ExecutionStatus,
  display: z.string().nullable(),
  value: z.json(),
  html: z.string().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().min(0),
  notebookVersion: z.number().int().min(1),
  executedAt: z.iso.datetime({ offset: true }),
});
export type CellOutput = z.infer<typeof CellOutput>;

/** The `data` of a successful run reply: every reported cell's output, in notebook order. */
export const ExecutionReport = z.object({
  notebookId: Id,
  notebookVersion: z.number().int().min(1),
  durationMs: z.number().min(0),
  outputs: z.array(CellOutput),
});
export type ExecutionReport = z.infer<typeof ExecutionReport>;
