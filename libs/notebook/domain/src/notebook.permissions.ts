import type { Visibility } from '@notebooks/contracts';
import { roleOf, type NotebookCommand, type NotebookRole, type NotebookState } from './notebook.decider';

/** What a command does to a notebook, as far as who may do it is concerned. */
export type NotebookAction = 'read' | 'edit-content' | 'run' | 'edit-settings' | 'share' | 'delete';

/** `hidden`: the actor may not even see the notebook (answer as if it did not exist). */
export type Permission = 'allowed' | 'forbidden' | 'hidden';

/** An actor tried what their role does not allow. `hidden` must look exactly like a missing notebook. */
export class NotebookAccessDenied extends Error {
  override readonly name = 'NotebookAccessDenied';

  constructor(readonly permission: Exclude<Permission, 'allowed'>) {
    super(permission === 'hidden' ? 'notebook-not-found' : 'your role on this notebook does not allow that');
  }
}

/**
 * The role matrix: OWNER does everything; EDITOR edits text and cells (and restores) and runs them,
 * but not visibility, sharing or deletion; VIEWER reads; anyone reads a PUBLIC notebook. Running is
 * an editor's right because its results become every reader's `Cell.output`.
 */
export function permission(state: NotebookState, actorId: string, action: NotebookAction): Permission {
  return permissionOf(roleOf(state, actorId), state.visibility, action);
}

/** The same matrix from what a read model knows: the actor's role (null for none, or anonymous) and the visibility. */
export function permissionOf(role: NotebookRole | null, visibility: Visibility, action: NotebookAction): Permission {
  const readable = role !== null || visibility === 'PUBLIC';
  if (!readable) return 'hidden';
  switch (action) {
    case 'read':
      return 'allowed';
    case 'edit-content':
    case 'run':
      return role === 'OWNER' || role === 'EDITOR' ? 'allowed' : 'forbidden';
    case 'edit-settings':
    case 'share':
    case 'delete':
      return role === 'OWNER' ? 'allowed' : 'forbidden';
  }
}

/** The action a command on an existing notebook performs. */
export function actionOf(command: NotebookCommand): NotebookAction {
  switch (command.type) {
    case 'UpdateNotebook':
      return command.visibility === undefined ? 'edit-content' : 'edit-settings';
    case 'ShareNotebook':
    case 'UnshareNotebook':
      return 'share';
    case 'DeleteNotebook':
      return 'delete';
    case 'RecordFork':
      return 'read';
    case 'CreateNotebook':
    case 'ForkNotebook':
    case 'RestoreNotebook':
    case 'AddCell':
    case 'UpdateCell':
    case 'MoveCell':
    case 'DeleteCell':
      return 'edit-content';
  }
}
