import { z } from 'zod';
import { CellKind, CollaboratorRole, Visibility } from './notebook-events';
import { EmailAddress } from './user-events';
import { TOO_LARGE } from './errors';

/** Limits of a notebook: the decider enforces them, edges validate with them. */
export const NotebookLimits = {
  titleMaxLength: 200,
  descriptionMaxLength: 10_000,
  cellValueMaxBytes: 256 * 1024,
  maxCells: 5_000,
} as const;
export type NotebookLimits = { readonly [K in keyof typeof NotebookLimits]: number };

const encoder = new TextEncoder();

/** Size of a string as stored (UTF-8), which is what `cellValueMaxBytes` bounds. */
export function utf8ByteLength(value: string): number {
  return encoder.encode(value).byteLength;
}

/** NATS request/reply subjects of notebook-service (queue group: one replica answers). */
export const NotebookSubjects = {
  command: 'rpc.notebook.command',
} as const;

const Id = z.uuid();
const Title = z.string().trim().min(1).max(NotebookLimits.titleMaxLength);
const Description = z.string().max(NotebookLimits.descriptionMaxLength).nullable();
const CellValue = z.string().refine((value) => utf8ByteLength(value) <= NotebookLimits.cellValueMaxBytes, {
  message: 'cell value exceeds 256 KiB',
  params: TOO_LARGE,
});
const Position = z.number().int().min(0);

/**
 * A notebook command as a client asked for it. notebook-service adds what the decider needs (new
 * ids, the fork source, the restore target) and runs it; ForkNotebook answers with the fork's id.
 */
export const NotebookCommandInput = z.discriminatedUnion('type', [
  z.object({ type: z.literal('CreateNotebook'), title: Title, description: Description, visibility: Visibility }),
  z.object({
    type: z.literal('UpdateNotebook'),
    notebookId: Id,
    title: Title.optional(),
    description: Description.optional(),
    visibility: Visibility.optional(),
  }),
  z.object({ type: z.literal('DeleteNotebook'), notebookId: Id }),
  z.object({ type: z.literal('ForkNotebook'), notebookId: Id, title: Title.optional() }),
  z.object({ type: z.literal('RestoreNotebook'), notebookId: Id, version: z.number().int().min(1) }),
  z
    .object({
      type: z.literal('ShareNotebook'),
      notebookId: Id,
      /** Whom to share with: by id, or by the email they registered with. */
      userId: Id.optional(),
      email: EmailAddress.optional(),
      role: CollaboratorRole,
    })
    .refine((share) => (share.userId === undefined) !== (share.email === undefined), 'name the user by exactly one of userId and email'),
  z.object({ type: z.literal('UnshareNotebook'), notebookId: Id, userId: Id }),
  z.object({
    type: z.literal('AddCell'),
    notebookId: Id,
    kind: CellKind,
    value: CellValue,
    /** 0-based; the end when absent. */
    position: Position.optional(),
  }),
  z.object({
    type: z.literal('UpdateCell'),
    notebookId: Id,
    cellId: Id,
    value: CellValue.optional(),
    kind: CellKind.optional(),
    isClosed: z.boolean().optional(),
  }),
  z.object({ type: z.literal('MoveCell'), notebookId: Id, cellId: Id, position: Position }),
  z.object({ type: z.literal('DeleteCell'), notebookId: Id, cellId: Id }),
]);
export type NotebookCommandInput = z.infer<typeof NotebookCommandInput>;

/** The request on `NotebookSubjects.command`. notebook-service authorizes `actorId` against the notebook itself. */
export const NotebookCommandRequest = z.object({
  command: NotebookCommandInput,
  actorId: Id,
  /** Repeating a key returns the first result instead of running the command again. */
  idempotencyKey: z.string().min(1).max(200).optional(),
  /** The notebook version the client saw; a different current version is a CONFLICT. */
  expectedVersion: z.number().int().min(0).optional(),
});
export type NotebookCommandRequest = z.infer<typeof NotebookCommandRequest>;

/** The `data` of a successful reply (see RpcReply). */
export const NotebookCommandReply = z.object({
  notebookId: Id,
  /** The notebook version after the command (unchanged when it was a no-op). */
  version: z.number().int().min(0),
  /** The cell the command created or touched, if any. */
  cellId: Id.nullable(),
  /** True when the idempotency key had been seen: this is the first run's result. */
  duplicate: z.boolean(),
});
export type NotebookCommandReply = z.infer<typeof NotebookCommandReply>;
