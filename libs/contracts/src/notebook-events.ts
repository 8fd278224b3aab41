import { z } from 'zod';
import type { DomainEvent } from './commit';

const Id = z.string().min(1);

/** What a cell holds: Observable JavaScript, Markdown or HTML. */
export const CellKind = z.enum(['JS', 'MARKDOWN', 'HTML']);
export type CellKind = z.infer<typeof CellKind>;

export const Visibility = z.enum(['PRIVATE', 'PUBLIC']);
export type Visibility = z.infer<typeof Visibility>;

/** A role granted by sharing. OWNER is not shareable: it belongs to `ownerId`. */
export const CollaboratorRole = z.enum(['EDITOR', 'VIEWER']);
export type CollaboratorRole = z.infer<typeof CollaboratorRole>;

/** A cell's whole content, in notebook order where it appears in a list. */
export const CellContent = z.object({ cellId: Id, kind: CellKind, value: z.string(), isClosed: z.boolean() });
export type CellContent = z.infer<typeof CellContent>;

export const NotebookCreatedV1 = z.object({
  ownerId: Id,
  title: z.string(),
  description: z.string().nullable(),
  visibility: Visibility,
  /** The source notebook and its version when this notebook is a fork. */
  forkedFrom: z.object({ notebookId: Id, version: z.number().int().min(1) }).nullable(),
});
export type NotebookCreated = z.infer<typeof NotebookCreatedV1>;

/** Only the fields that changed. */
export const NotebookUpdatedV1 = z.object({
  title: z.string().optional(),
  description: z.string().nullable().optional(),
  visibility: Visibility.optional(),
});
export type NotebookUpdated = z.infer<typeof NotebookUpdatedV1>;

export const NotebookDeletedV1 = z.object({});
export type NotebookDeleted = z.infer<typeof NotebookDeletedV1>;

/** Recorded on the source notebook when someone forks it. */
export const NotebookForkedV1 = z.object({ forkId: Id, forkedBy: Id, atVersion: z.number().int().min(1) });
export type NotebookForked = z.infer<typeof NotebookForkedV1>;

/**
 * The content as it was at `toVersion`, in full, so a fold needs nothing else. Absent `visibility`
 * leaves it unchanged: a restore brings back content, not access.
 */
export const NotebookRestoredV1 = z.object({
  toVersion: z.number().int().min(1),
  title: z.string(),
  description: z.string().nullable(),
  visibility: Visibility.optional(),
  cells: z.array(CellContent),
});
export type NotebookRestored = z.infer<typeof NotebookRestoredV1>;

/** Grants a role, or changes the role of someone already shared with. */
export const NotebookSharedV1 = z.object({ userId: Id, role: CollaboratorRole });
export type NotebookShared = z.infer<typeof NotebookSharedV1>;

export const NotebookUnsharedV1 = z.object({ userId: Id });
export type NotebookUnshared = z.infer<typeof NotebookUnsharedV1>;

/** `position` is 0-based; the cell is inserted there and later cells shift down. */
export const CellCreatedV1 = CellContent.extend({ position: z.number().int().min(0) });
export type CellCreated = z.infer<typeof CellCreatedV1>;

/** Only the fields that changed, besides `cellId`. Superseded by V2; still read, through its upcaster. */
export const CellUpdatedV1 = z.object({
  cellId: Id,
  value: z.string().optional(),
  kind: CellKind.optional(),
  isClosed: z.boolean().optional(),
});
export type CellUpdatedV1 = z.infer<typeof CellUpdatedV1>;

/** What an update may change in a cell. */
export const CellChanges = z
  .object({ value: z.string().optional(), kind: CellKind.optional(), isClosed: z.boolean().optional() })
  .refine((changes) => Object.keys(changes).length > 0, 'an update changes something');
export type CellChanges = z.infer<typeof CellChanges>;

/**
 * V2 keeps the patch apart from the cell's identity: `changes` holds exactly what changed, so new
 * kinds of change never collide with identifying fields and readers of history see one shape.
 */
export const CellUpdatedV2 = z.object({ cellId: Id, changes: CellChanges });
export type CellUpdated = z.infer<typeof CellUpdatedV2>;

/** cell.updated v1 → v2: the same change, with the patch under `changes`. */
export function upcastCellUpdatedV1({ cellId, ...changes }: CellUpdatedV1): CellUpdated {
  return { cellId, changes };
}

/** `position` is the cell's 0-based index after the move. */
export const CellMovedV1 = z.object({ cellId: Id, position: z.number().int().min(0) });
export type CellMoved = z.infer<typeof CellMovedV1>;

export const CellDeletedV1 = z.object({ cellId: Id });
export type CellDeleted = z.infer<typeof CellDeletedV1>;

/**
 * Every event of the NOTEBOOKS stream (subject `notebooks.<notebookId>`), with its current data.
 * Each `…V1` schema is frozen once published: a change adds `…V2` plus an upcaster (see
 * event-registry.ts) and moves the unversioned type to it. Schemas describe shape only; business
 * limits live in the decider, so raising a limit never invalidates history.
 */
export type NotebookEvent =
  | DomainEvent<'notebook.created', NotebookCreated>
  | DomainEvent<'notebook.updated', NotebookUpdated>
  | DomainEvent<'notebook.deleted', NotebookDeleted>
  | DomainEvent<'notebook.forked', NotebookForked>
  | DomainEvent<'notebook.restored', NotebookRestored>
  | DomainEvent<'notebook.shared', NotebookShared>
  | DomainEvent<'notebook.unshared', NotebookUnshared>
  | DomainEvent<'cell.created', CellCreated>
  | DomainEvent<'cell.updated', CellUpdated>
  | DomainEvent<'cell.moved', CellMoved>
  | DomainEvent<'cell.deleted', CellDeleted>;
