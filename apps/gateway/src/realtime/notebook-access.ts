import type { CollaboratorRole, NotebookEvent, Visibility } from '@notebooks/contracts';
import { permissionOf, type NotebookRole } from '@notebooks/notebook-domain';

/**
 * Who may read a notebook: what a real-time stream checks each of its subscribers against, on
 * joining and again after every event that changes it. Immutable: an event that changes access
 * yields a new value.
 */
export interface NotebookAccess {
  ownerId: string;
  visibility: Visibility;
  deleted: boolean;
  /** Collaborators' roles; the owner is not one. */
  roles: ReadonlyMap<string, CollaboratorRole>;
}

/** The role of `userId` (null: anonymous) in the notebook, if any. */
export function roleIn(access: NotebookAccess, userId: string | null): NotebookRole | null {
  if (userId === null) return null;
  if (userId === access.ownerId) return 'OWNER';
  return access.roles.get(userId) ?? null;
}

/** The role matrix's `read`, and a deleted notebook is no one's to read. */
export function canRead(access: NotebookAccess | null, userId: string | null): boolean {
  return access !== null && !access.deleted && permissionOf(roleIn(access, userId), access.visibility, 'read') === 'allowed';
}

/** Whether the caller is a member (owner or collaborator): members see each other's emails. */
export function isMember(access: NotebookAccess, userId: string | null): boolean {
  return roleIn(access, userId) !== null;
}

/**
 * Access after one notebook event: `notebook.created` sets it up, visibility changes, sharing and
 * deletion change it, anything else leaves the same object.
 */
export function evolveAccess(access: NotebookAccess | null, event: NotebookEvent): NotebookAccess | null {
  switch (event.type) {
    case 'notebook.created': {
      const { ownerId, visibility } = event.data;
      return { ownerId, visibility, deleted: false, roles: new Map() };
    }
    case 'notebook.updated':
    case 'notebook.restored': {
      const { visibility } = event.data;
      return access && visibility !== undefined && visibility !== access.visibility ? { ...access, visibility } : access;
    }
    case 'notebook.shared':
      return access && { ...access, roles: new Map(access.roles).set(event.data.userId, event.data.role) };
    case 'notebook.unshared': {
      if (!access?.roles.has(event.data.userId)) return access;
      const roles = new Map(access.roles);
      roles.delete(event.data.userId);
      return { ...access, roles };
    }
    case 'notebook.deleted':
      return access && { ...access, deleted: true };
    default:
      return access;
  }
}
