import {
  type CellContent,
  type CellKind,
  type CellUpdated,
  type CollaboratorRole,
  type Decider,
  type NotebookEvent,
  type NotebookUpdated,
  type Visibility,
  NotebookLimits,
  utf8ByteLength,
} from '@notebooks/contracts';

export interface Collaborator {
  readonly userId: string;
  readonly role: CollaboratorRole;
}

/** A notebook folded from its events: what `decide` needs and what the edge authorizes with. */
export interface NotebookState {
  /** `absent` until notebook.created; a `deleted` notebook accepts nothing. */
  readonly status: 'absent' | 'active' | 'deleted';
  /** Number of events folded: the notebook version clients see (0 while absent). */
  readonly version: number;
  readonly ownerId: string | null;
  readonly title: string;
  readonly description: string | null;
  readonly visibility: Visibility;
  readonly forkedFrom: { readonly notebookId: string; readonly version: number } | null;
  /** Everyone the notebook is shared with, in the order they were first shared with. */
  readonly collaborators: readonly Collaborator[];
  /** In notebook order: a cell's position is its index. */
  readonly cells: readonly CellContent[];
}

export interface CreateNotebook {
  type: 'CreateNotebook';
  ownerId: string;
  title: string;
  description: string | null;
  visibility: Visibility;
}

/** Absent fields stay as they are. */
export interface UpdateNotebook {
  type: 'UpdateNotebook';
  title?: string;
  description?: string | null;
  visibility?: Visibility;
}

export interface DeleteNotebook {
  type: 'DeleteNotebook';
}

/** Runs on the new notebook's stream: copies `source` as of its current version. */
export interface ForkNotebook {
  type: 'ForkNotebook';
  sourceId: string;
  source: NotebookState;
  ownerId: string;
  /** The source's title when absent. */
  title?: string;
  /** One new id per source cell, in the source's order. */
  cellIds: readonly string[];
}

/** Runs on the source's stream once the fork exists. */
export interface RecordFork {
  type: 'RecordFork';
  forkId: string;
  forkedBy: string;
  atVersion: number;
}

/** Brings the content back to `target`: this notebook folded up to `toVersion`. */
export interface RestoreNotebook {
  type: 'RestoreNotebook';
  toVersion: number;
  target: NotebookState;
}

/** Grants `role`, or changes the role of someone already shared with. */
export interface ShareNotebook {
  type: 'ShareNotebook';
  userId: string;
  role: CollaboratorRole;
}

export interface UnshareNotebook {
  type: 'UnshareNotebook';
  userId: string;
}

export interface AddCell {
  type: 'AddCell';
  cellId: string;
  kind: CellKind;
  value: string;
  /** 0-based, at most the number of cells; the end when absent. */
  position?: number;
}

/** Absent fields stay as they are. */
export interface UpdateCell {
  type: 'UpdateCell';
  cellId: string;
  value?: string;
  kind?: CellKind;
  isClosed?: boolean;
}

/** `position` is the cell's 0-based index after the move. */
export interface MoveCell {
  type: 'MoveCell';
  cellId: string;
  position: number;
}

export interface DeleteCell {
  type: 'DeleteCell';
  cellId: string;
}

export type NotebookCommand =
  | CreateNotebook
  | UpdateNotebook
  | DeleteNotebook
  | ForkNotebook
  | RecordFork
  | RestoreNotebook
  | ShareNotebook
  | UnshareNotebook
  | AddCell
  | UpdateCell
  | MoveCell
  | DeleteCell;

export type NotebookRejectionReason =
  | 'notebook-not-found'
  | 'notebook-already-exists'
  | 'notebook-deleted'
  | 'invalid-title'
  | 'description-too-long'
  | 'invalid-version'
  | 'invalid-cell-ids'
  | 'cannot-share-with-owner'
  | 'cell-not-found'
  | 'cell-already-exists'
  | 'cell-too-large'
  | 'too-many-cells'
  | 'invalid-position';

/** Why the notebook decider refused a command. The gateway maps `reason` to an error code. */
export class NotebookRejected extends Error {
  override readonly name = 'NotebookRejected';

  constructor(
    readonly reason: NotebookRejectionReason,
    message: string = reason,
  ) {
    super(message);
  }
}

/** A role on a notebook: its owner's, or one granted by sharing. */
export type NotebookRole = 'OWNER' | CollaboratorRole;

/** The role `userId` has on the notebook, or null. Visibility is the caller's to weigh. */
export function roleOf(state: NotebookState, userId: string): NotebookRole | null {
  if (userId === state.ownerId) return 'OWNER';
  return state.collaborators.find((c) => c.userId === userId)?.role ?? null;
}

export function initialState(): NotebookState {
  return {
    status: 'absent',
    version: 0,
    ownerId: null,
    title: '',
    description: null,
    visibility: 'PRIVATE',
    forkedFrom: null,
    collaborators: [],
    cells: [],
  };
}

/** The events a command produces on `state`, none for a no-op; throws NotebookRejected. */
export function decide(
  command: NotebookCommand,
  state: NotebookState,
  limits: NotebookLimits = NotebookLimits,
): NotebookEvent[] {
  if (command.type === 'CreateNotebook' || command.type === 'ForkNotebook') {
    if (state.status !== 'absent') throw new NotebookRejected('notebook-already-exists');
  } else {
    assertActive(state);
  }
  switch (command.type) {
    case 'CreateNotebook': {
      const { ownerId, visibility } = command;
      const title = validTitle(command.title, limits);
      const description = validDescription(command.description, limits);
      return [{ type: 'notebook.created', data: { ownerId, title, description, visibility, forkedFrom: null } }];
    }
    case 'UpdateNotebook': {
      const title = command.title === undefined ? state.title : validTitle(command.title, limits);
      const description =
        command.description === undefined ? state.description : validDescription(command.description, limits);
      const visibility = command.visibility ?? state.visibility;
      const data: NotebookUpdated = {};
      if (title !== state.title) data.title = title;
      if (description !== state.description) data.description = description;
      if (visibility !== state.visibility) data.visibility = visibility;
      return Object.keys(data).length > 0 ? [{ type: 'notebook.updated', data }] : [];
    }
    case 'DeleteNotebook':
      return [{ type: 'notebook.deleted', data: {} }];
    case 'ForkNotebook':
      return fork(command, limits);
    case 'RecordFork': {
      const { forkId, forkedBy, atVersion } = command;
      if (!Number.isInteger(atVersion) || atVersion < 1 || atVersion > state.version) {
        throw new NotebookRejected('invalid-version');
      }
      return [{ type: 'notebook.forked', data: { forkId, forkedBy, atVersion } }];
    }
    case 'RestoreNotebook':
      return restore(command, state);
    case 'ShareNotebook': {
      const { userId, role } = command;
      if (userId === state.ownerId) throw new NotebookRejected('cannot-share-with-owner');
      return roleOf(state, userId) === role ? [] : [{ type: 'notebook.shared', data: { userId, role } }];
    }
    case 'UnshareNotebook': {
      const { userId } = command;
      const shared = state.collaborators.some((c) => c.userId === userId);
      return shared ? [{ type: 'notebook.unshared', data: { userId } }] : [];
    }
    case 'AddCell': {
      const { cellId, kind, value, position = state.cells.length } = command;
      if (state.cells.some((cell) => cell.cellId === cellId)) throw new NotebookRejected('cell-already-exists');
      if (state.cells.length >= limits.maxCells) {
        throw new NotebookRejected('too-many-cells', `a notebook holds at most ${limits.maxCells} cells`);
      }
      validPosition(position, state.cells.length);
      validCellValue(value, limits);
      return [{ type: 'cell.created', data: { cellId, kind, value, position, isClosed: false } }];
    }
    case 'UpdateCell': {
      const { cellId, value, kind, isClosed } = command;
      const cell = state.cells[indexOfCell(state, cellId)];
      const changes: CellUpdated['changes'] = {};
      if (value !== undefined && value !== cell.value) changes.value = validCellValue(value, limits);
      if (kind !== undefined && kind !== cell.kind) changes.kind = kind;
      if (isClosed !== undefined && isClosed !== cell.isClosed) changes.isClosed = isClosed;
      return Object.keys(changes).length > 0 ? [{ type: 'cell.updated', data: { cellId, changes } }] : [];
    }
    case 'MoveCell': {
      const { cellId, position } = command;
      const from = indexOfCell(state, cellId);
      validPosition(position, state.cells.length - 1);
      return position === from ? [] : [{ type: 'cell.moved', data: { cellId, position } }];
    }
    case 'DeleteCell': {
      const { cellId } = command;
      indexOfCell(state, cellId);
      return [{ type: 'cell.deleted', data: { cellId } }];
    }
    default: {
      const unknownCommand: never = command;
      return unknownCommand;
    }
  }
}

/** The state after one more event. Trusts the event: history is what `decide` produced. */
export function evolve(state: NotebookState, event: NotebookEvent): NotebookState {
  return { ...apply(state, event), version: state.version + 1 };
}

export const notebookDecider: Decider<NotebookCommand, NotebookEvent, NotebookState> = {
  initialState,
  decide,
  evolve,
};

function fork(command: ForkNotebook, limits: NotebookLimits): NotebookEvent[] {
  const { source, sourceId, ownerId, cellIds } = command;
  assertActive(source);
  if (cellIds.length !== source.cells.length || new Set(cellIds).size !== cellIds.length) {
    throw new NotebookRejected('invalid-cell-ids', 'a fork needs one distinct new id per source cell');
  }
  const title = validTitle(command.title ?? source.title, limits);
  const forkedFrom = { notebookId: sourceId, version: source.version };
  return [
    {
      type: 'notebook.created',
      data: { ownerId, title, description: source.description, visibility: 'PRIVATE', forkedFrom },
    },
    ...source.cells.map((cell, position): NotebookEvent => ({
      type: 'cell.created',
      data: { ...cell, cellId: cellIds[position], position },
    })),
  ];
}

function restore({ toVersion, target }: RestoreNotebook, state: NotebookState): NotebookEvent[] {
  if (target.status !== 'active' || target.version !== toVersion || toVersion > state.version) {
    throw new NotebookRejected('invalid-version', `the notebook has no version ${toVersion} to restore`);
  }
  const { title, description, cells } = target;
  const unchanged =
    title === state.title &&
    description === state.description &&
    cells.length === state.cells.length &&
    cells.every((cell, i) => sameCell(cell, state.cells[i]));
  return unchanged ? [] : [{ type: 'notebook.restored', data: { toVersion, title, description, cells: [...cells] } }];
}

function apply(state: NotebookState, event: NotebookEvent): NotebookState {
  switch (event.type) {
    case 'notebook.created':
      return { ...state, ...event.data, status: 'active' };
    case 'notebook.updated': {
      const { title = state.title, description = state.description, visibility = state.visibility } = event.data;
      return { ...state, title, description, visibility };
    }
    case 'notebook.deleted':
      return { ...state, status: 'deleted' };
    case 'notebook.forked':
      return state;
    case 'notebook.restored': {
      const { title, description, visibility = state.visibility, cells } = event.data;
      return { ...state, title, description, visibility, cells };
    }
    case 'notebook.shared': {
      const { userId, role } = event.data;
      const shared = state.collaborators.some((c) => c.userId === userId);
      const collaborators = shared
        ? state.collaborators.map((c) => (c.userId === userId ? { userId, role } : c))
        : [...state.collaborators, { userId, role }];
      return { ...state, collaborators };
    }
    case 'notebook.unshared':
      return { ...state, collaborators: state.collaborators.filter((c) => c.userId !== event.data.userId) };
    case 'cell.created': {
      const { position, ...cell } = event.data;
      return { ...state, cells: state.cells.toSpliced(position, 0, cell) };
    }
    case 'cell.updated': {
      const { cellId, changes } = event.data;
      return {
        ...state,
        cells: state.cells.map((cell) =>
          cell.cellId === cellId
            ? {
                cellId,
                kind: changes.kind ?? cell.kind,
                value: changes.value ?? cell.value,
                isClosed: changes.isClosed ?? cell.isClosed,
              }
            : cell,
        ),
      };
    }
    case 'cell.moved': {
      const { cellId, position } = event.data;
      const moved = state.cells.find((cell) => cell.cellId === cellId);
      const others = state.cells.filter((cell) => cell.cellId !== cellId);
      return moved ? { ...state, cells: others.toSpliced(position, 0, moved) } : state;
    }
    case 'cell.deleted':
      return { ...state, cells: state.cells.filter((cell) => cell.cellId !== event.data.cellId) };
  }
}

function assertActive(state: NotebookState): void {
  if (state.status === 'absent') throw new NotebookRejected('notebook-not-found');
  if (state.status === 'deleted') throw new NotebookRejected('notebook-deleted');
}

function validTitle(title: string, limits: NotebookLimits): string {
  const trimmed = title.trim();
  if (trimmed.length === 0 || trimmed.length > limits.titleMaxLength) {
    throw new NotebookRejected('invalid-title', `a title has 1 to ${limits.titleMaxLength} characters`);
  }
  return trimmed;
}

function validDescription(description: string | null, limits: NotebookLimits): string | null {
  if (description !== null && description.length > limits.descriptionMaxLength) {
    const message = `a description has at most ${limits.descriptionMaxLength} characters`;
    throw new NotebookRejected('description-too-long', message);
  }
  return description;
}

function validCellValue(value: string, limits: NotebookLimits): string {
  if (utf8ByteLength(value) > limits.cellValueMaxBytes) {
    throw new NotebookRejected('cell-too-large', `a cell holds at most ${limits.cellValueMaxBytes} bytes`);
  }
  return value;
}

function validPosition(position: number, max: number): void {
  if (!Number.isInteger(position) || position < 0 || position > max) {
    throw new NotebookRejected('invalid-position', `position must be an integer from 0 to ${max}`);
  }
}

function indexOfCell(state: NotebookState, cellId: string): number {
  const index = state.cells.findIndex((cell) => cell.cellId === cellId);
  if (index < 0) throw new NotebookRejected('cell-not-found');
  return index;
}

function sameCell(a: CellContent, b: CellContent): boolean {
  return a.cellId === b.cellId && a.kind === b.kind && a.value === b.value && a.isClosed === b.isClosed;
}
