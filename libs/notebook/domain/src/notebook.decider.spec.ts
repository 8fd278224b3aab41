import { type NotebookEvent, NotebookLimits, deciderSpecification } from '@notebooks/contracts';
import {
  type NotebookCommand,
  type NotebookState,
  NotebookRejected,
  decide,
  evolve,
  initialState,
  notebookDecider,
  roleOf,
} from './notebook.decider';

const equal = (actual: unknown, expected: unknown) => expect(actual).toEqual(expected);
const given = deciderSpecification(notebookDecider, NotebookRejected, equal);

const created: NotebookEvent = {
  type: 'notebook.created',
  data: { ownerId: 'owner', title: 'Notes', description: null, visibility: 'PRIVATE', forkedFrom: null },
};
const deleted: NotebookEvent = { type: 'notebook.deleted', data: {} };
const cellCreated = (cellId: string, position: number): NotebookEvent => ({
  type: 'cell.created',
  data: { cellId, kind: 'JS', value: `${cellId} = 1`, position, isClosed: false },
});
/** One cell.created per id, appended in order. */
const cells = (...cellIds: string[]): NotebookEvent[] => cellIds.map(cellCreated);
const shared = (userId: string, role: 'EDITOR' | 'VIEWER'): NotebookEvent => ({
  type: 'notebook.shared',
  data: { userId, role },
});
const fold = (...events: NotebookEvent[]): NotebookState => events.reduce(evolve, initialState());

describe('notebookDecider', () => {
  describe(decide.name, () => {
    const commandsOnExisting: NotebookCommand[] = [
      { type: 'UpdateNotebook', title: 'New' },
      { type: 'DeleteNotebook' },
      { type: 'RecordFork', forkId: 'fork', forkedBy: 'alice', atVersion: 1 },
      { type: 'RestoreNotebook', toVersion: 1, target: fold(created) },
      { type: 'ShareNotebook', userId: 'alice', role: 'VIEWER' },
      { type: 'UnshareNotebook', userId: 'alice' },
      { type: 'AddCell', cellId: 'a', kind: 'JS', value: '' },
      { type: 'UpdateCell', cellId: 'a', value: '2' },
      { type: 'MoveCell', cellId: 'a', position: 0 },
      { type: 'DeleteCell', cellId: 'a' },
    ];

    it.each(commandsOnExisting)('rejects $type on a notebook that does not exist', (command) => {
      given().when(command).thenRejects('notebook-not-found');
    });

    it.each(commandsOnExisting)('rejects $type on a deleted notebook', (command) => {
      given(created, cellCreated('a', 0), deleted).when(command).thenRejects('notebook-deleted');
    });

    describe('CreateNotebook', () => {
      const create: NotebookCommand = {
        type: 'CreateNotebook',
        ownerId: 'owner',
        title: '  Notes ',
        description: null,
        visibility: 'PRIVATE',
      };

      it('creates the notebook with a trimmed title', () => {
        given().when(create).then(created);
      });

      it('rejects a stream that already has a notebook, even a deleted one', () => {
        given(created).when(create).thenRejects('notebook-already-exists');
        given(created, deleted).when(create).thenRejects('notebook-already-exists');
      });

      it('accepts titles of 1 to 200 characters', () => {
        given().when({ ...create, title: 'x' }).then({ ...created, data: { ...created.data, title: 'x' } });
        const longest = 'x'.repeat(NotebookLimits.titleMaxLength);
        given().when({ ...create, title: longest }).then({ ...created, data: { ...created.data, title: longest } });
      });

      it.each(['', '   ', 'x'.repeat(201)])('rejects the title %j', (title) => {
        given().when({ ...create, title }).thenRejects('invalid-title');
      });

      it('accepts a description of up to 10,000 characters', () => {
        const description = 'x'.repeat(NotebookLimits.descriptionMaxLength);
        given().when({ ...create, description }).then({ ...created, data: { ...created.data, description } });
        given().when({ ...create, description: `${description}x` }).thenRejects('description-too-long');
      });
    });

    describe('UpdateNotebook', () => {
      it('records only the fields that change', () => {
        given(created)
          .when({ type: 'UpdateNotebook', title: 'Notes', description: 'About', visibility: 'PUBLIC' })
          .then({ type: 'notebook.updated', data: { description: 'About', visibility: 'PUBLIC' } });
      });

      it('clears the description with null', () => {
        given(created, { type: 'notebook.updated', data: { description: 'About' } })
          .when({ type: 'UpdateNotebook', description: null })
          .then({ type: 'notebook.updated', data: { description: null } });
      });

      it('is a no-op when nothing changes', () => {
        given(created).when({ type: 'UpdateNotebook', title: ' Notes ', visibility: 'PRIVATE' }).then();
      });

      it('rejects an invalid title or a description that is too long', () => {
        given(created).when({ type: 'UpdateNotebook', title: ' ' }).thenRejects('invalid-title');
        given(created).when({ type: 'UpdateNotebook', description: 'x'.repeat(10_001) }).thenRejects('description-too-long');
      });
    });

    describe('DeleteNotebook', () => {
      it('deletes the notebook', () => {
        given(created).when({ type: 'DeleteNotebook' }).then(deleted);
      });
    });

    describe('ForkNotebook', () => {
      const source = fold(created, ...cells('a', 'b'), { type: 'notebook.updated', data: { description: 'About' } });
      const fork: NotebookCommand = {
        type: 'ForkNotebook',
        sourceId: 'source',
        source,
        ownerId: 'alice',
        cellIds: ['x', 'y'],
      };

      it('creates a private copy of the source at its version, with the new cell ids', () => {
        given()
          .when(fork)
          .then(
            {
              type: 'notebook.created',
              data: {
                ownerId: 'alice',
                title: 'Notes',
                description: 'About',
                visibility: 'PRIVATE',
                forkedFrom: { notebookId: 'source', version: 4 },
              },
            },
            { type: 'cell.created', data: { cellId: 'x', kind: 'JS', value: 'a = 1', position: 0, isClosed: false } },
            { type: 'cell.created', data: { cellId: 'y', kind: 'JS', value: 'b = 1', position: 1, isClosed: false } },
          );
      });

      it('takes a new title, trimmed', () => {
        const { outcome } = given().when({ ...fork, title: ' Mine ' });
        expect(outcome).toMatchObject({ events: [{ data: { title: 'Mine' } }, {}, {}] });
      });

      it('rejects a stream that already has a notebook', () => {
        given(created).when(fork).thenRejects('notebook-already-exists');
      });

      it('rejects a source that does not exist or was deleted', () => {
        given().when({ ...fork, source: initialState(), cellIds: [] }).thenRejects('notebook-not-found');
        given().when({ ...fork, source: evolve(source, deleted) }).thenRejects('notebook-deleted');
      });

      it.each([[['x']], [['x', 'x']], [['x', 'y', 'z']]])('rejects the cell ids %j for two source cells', (cellIds) => {
        given().when({ ...fork, cellIds }).thenRejects('invalid-cell-ids');
      });

      it('rejects an invalid title', () => {
        given().when({ ...fork, title: '' }).thenRejects('invalid-title');
      });
    });

    describe('RecordFork', () => {
      it('records the fork on the source', () => {
        given(created, ...cells('a'))
          .when({ type: 'RecordFork', forkId: 'fork', forkedBy: 'alice', atVersion: 2 })
          .then({ type: 'notebook.forked', data: { forkId: 'fork', forkedBy: 'alice', atVersion: 2 } });
      });

      it.each([0, 3, 1.5])('rejects the version %p the source never had', (atVersion) => {
        given(created, ...cells('a'))
          .when({ type: 'RecordFork', forkId: 'fork', forkedBy: 'alice', atVersion })
          .thenRejects('invalid-version');
      });
    });

    describe('RestoreNotebook', () => {
      const history: NotebookEvent[] = [
        created,
        ...cells('a', 'b'),
        { type: 'notebook.updated', data: { title: 'Renamed', visibility: 'PUBLIC' } },
        { type: 'cell.updated', data: { cellId: 'a', changes: { value: 'a = 2', isClosed: true } } },
        { type: 'cell.deleted', data: { cellId: 'b' } },
        cellCreated('c', 0),
      ];
      const target = fold(...history.slice(0, 3));

      it('brings back the content of the target version in one event, visibility aside', () => {
        given(...history)
          .when({ type: 'RestoreNotebook', toVersion: 3, target })
          .then({
            type: 'notebook.restored',
            data: {
              toVersion: 3,
              title: 'Notes',
              description: null,
              cells: [
                { cellId: 'a', kind: 'JS', value: 'a = 1', isClosed: false },
                { cellId: 'b', kind: 'JS', value: 'b = 1', isClosed: false },
              ],
            },
          });
      });

      it('is a no-op when the content already is the target', () => {
        given(...history.slice(0, 3), shared('alice', 'EDITOR'))
          .when({ type: 'RestoreNotebook', toVersion: 3, target })
          .then();
      });

      it('rejects a target that is not this notebook at that version', () => {
        given(...history).when({ type: 'RestoreNotebook', toVersion: 2, target }).thenRejects('invalid-version');
        given(...history).when({ type: 'RestoreNotebook', toVersion: 0, target: initialState() }).thenRejects('invalid-version');
        given(...history.slice(0, 2)).when({ type: 'RestoreNotebook', toVersion: 3, target }).thenRejects('invalid-version');
      });
    });

    describe('ShareNotebook', () => {
      it('grants a role', () => {
        given(created).when({ type: 'ShareNotebook', userId: 'alice', role: 'VIEWER' }).then(shared('alice', 'VIEWER'));
      });

      it('changes the role of a collaborator', () => {
        given(created, shared('alice', 'VIEWER'))
          .when({ type: 'ShareNotebook', userId: 'alice', role: 'EDITOR' })
          .then(shared('alice', 'EDITOR'));
      });

      it('is a no-op when the collaborator already has the role', () => {
        given(created, shared('alice', 'EDITOR')).when({ type: 'ShareNotebook', userId: 'alice', role: 'EDITOR' }).then();
      });

      it('rejects sharing with the owner', () => {
        given(created)
          .when({ type: 'ShareNotebook', userId: 'owner', role: 'EDITOR' })
          .thenRejects('cannot-share-with-owner');
      });
    });

    describe('UnshareNotebook', () => {
      it('revokes a role', () => {
        given(created, shared('alice', 'EDITOR'))
          .when({ type: 'UnshareNotebook', userId: 'alice' })
          .then({ type: 'notebook.unshared', data: { userId: 'alice' } });
      });

      it('is a no-op for someone it is not shared with', () => {
        given(created, shared('alice', 'EDITOR')).when({ type: 'UnshareNotebook', userId: 'bob' }).then();
        given(created).when({ type: 'UnshareNotebook', userId: 'owner' }).then();
      });
    });

    describe('AddCell', () => {
      const add = (position?: number, value = ''): NotebookCommand => ({
        type: 'AddCell',
        cellId: 'c',
        kind: 'MARKDOWN',
        value,
        position,
      });
      const cellC = (position: number, value = ''): NotebookEvent => ({
        type: 'cell.created',
        data: { cellId: 'c', kind: 'MARKDOWN', value, position, isClosed: false },
      });

      it('appends by default', () => {
        given(created, ...cells('a', 'b')).when(add()).then(cellC(2));
      });

      it('inserts at a position from 0 to the number of cells', () => {
        given(created, ...cells('a', 'b')).when(add(0)).then(cellC(0));
        given(created, ...cells('a', 'b')).when(add(2)).then(cellC(2));
      });

      it.each([-1, 3, 0.5])('rejects the position %p', (position) => {
        given(created, ...cells('a', 'b')).when(add(position)).thenRejects('invalid-position');
      });

      it('rejects an id already in use', () => {
        given(created, ...cells('a', 'c')).when(add()).thenRejects('cell-already-exists');
      });

      it('accepts up to 256 KiB of UTF-8 and rejects more', () => {
        const limit = NotebookLimits.cellValueMaxBytes;
        given(created).when(add(0, 'x'.repeat(limit))).then(cellC(0, 'x'.repeat(limit)));
        given(created).when(add(0, 'x'.repeat(limit + 1))).thenRejects('cell-too-large');
        given(created).when(add(0, 'é'.repeat(limit / 2 + 1))).thenRejects('cell-too-large');
      });

      it('rejects a cell beyond 5,000', () => {
        const full = cells(...Array.from({ length: NotebookLimits.maxCells }, (_, i) => `cell-${i}`));
        given(created, ...full).when(add()).thenRejects('too-many-cells');
        given(created, ...full.slice(1)).when(add()).then(cellC(NotebookLimits.maxCells - 1));
      });

      it('takes its limits as a parameter', () => {
        const limits = { ...NotebookLimits, maxCells: 1 };
        const decideWithLimits = (command: NotebookCommand, state: NotebookState) => decide(command, state, limits);
        const givenFewCells = deciderSpecification({ ...notebookDecider, decide: decideWithLimits }, NotebookRejected, equal);
        givenFewCells(created, ...cells('a')).when(add()).thenRejects('too-many-cells');
      });
    });

    describe('UpdateCell', () => {
      it('records only the fields that change', () => {
        given(created, ...cells('a'))
          .when({ type: 'UpdateCell', cellId: 'a', value: 'a = 1', kind: 'HTML', isClosed: true })
          .then({ type: 'cell.updated', data: { cellId: 'a', changes: { kind: 'HTML', isClosed: true } } });
        given(created, ...cells('a'))
          .when({ type: 'UpdateCell', cellId: 'a', value: 'a = 2' })
          .then({ type: 'cell.updated', data: { cellId: 'a', changes: { value: 'a = 2' } } });
      });

      it('is a no-op when nothing changes', () => {
        given(created, ...cells('a')).when({ type: 'UpdateCell', cellId: 'a', value: 'a = 1', isClosed: false }).then();
      });

      it('rejects an unknown cell or a value over 256 KiB', () => {
        given(created, ...cells('a')).when({ type: 'UpdateCell', cellId: 'b', value: '' }).thenRejects('cell-not-found');
        given(created, ...cells('a'))
          .when({ type: 'UpdateCell', cellId: 'a', value: 'x'.repeat(NotebookLimits.cellValueMaxBytes + 1) })
          .thenRejects('cell-too-large');
      });
    });

    describe('MoveCell', () => {
      it('moves a cell', () => {
        given(created, ...cells('a', 'b'))
          .when({ type: 'MoveCell', cellId: 'b', position: 0 })
          .then({ type: 'cell.moved', data: { cellId: 'b', position: 0 } });
      });

      it('is a no-op when the cell is already there', () => {
        given(created, ...cells('a', 'b')).when({ type: 'MoveCell', cellId: 'b', position: 1 }).then();
      });

      it('rejects an unknown cell', () => {
        given(created, ...cells('a')).when({ type: 'MoveCell', cellId: 'b', position: 0 }).thenRejects('cell-not-found');
      });

      it.each([-1, 2, 0.5])('rejects the position %p among two cells', (position) => {
        given(created, ...cells('a', 'b')).when({ type: 'MoveCell', cellId: 'a', position }).thenRejects('invalid-position');
      });
    });

    describe('DeleteCell', () => {
      it('deletes a cell', () => {
        given(created, ...cells('a'))
          .when({ type: 'DeleteCell', cellId: 'a' })
          .then({ type: 'cell.deleted', data: { cellId: 'a' } });
      });

      it('rejects an unknown or already deleted cell', () => {
        given(created).when({ type: 'DeleteCell', cellId: 'a' }).thenRejects('cell-not-found');
        given(created, ...cells('a'), { type: 'cell.deleted', data: { cellId: 'a' } })
          .when({ type: 'DeleteCell', cellId: 'a' })
          .thenRejects('cell-not-found');
      });
    });
  });

  describe(evolve.name, () => {
    /** Runs commands through decide and folds what they produce, as a service would. */
    const run = (...commands: NotebookCommand[]): NotebookState =>
      commands.reduce((state, command) => decide(command, state).reduce(evolve, state), initialState());
    const create: NotebookCommand = {
      type: 'CreateNotebook',
      ownerId: 'owner',
      title: 'Notes',
      description: null,
      visibility: 'PRIVATE',
    };
    const add = (cellId: string, position?: number): NotebookCommand => ({
      type: 'AddCell',
      cellId,
      kind: 'JS',
      value: `${cellId} = 1`,
      position,
    });
    const cellIdsOf = (state: NotebookState) => state.cells.map((cell) => cell.cellId);

    it('starts absent at version 0', () => {
      expect(initialState()).toMatchObject({ status: 'absent', version: 0, ownerId: null, cells: [] });
    });

    it('counts every event in the version, no-ops none', () => {
      const state = run(create, add('a'), add('b'), { type: 'MoveCell', cellId: 'a', position: 0 });
      expect(state.version).toBe(3);
    });

    it('keeps cells in order through inserts, moves and deletes', () => {
      const state = run(
        create,
        add('a'),
        add('b'),
        add('c'),
        add('d', 1),
        { type: 'MoveCell', cellId: 'a', position: 3 },
        { type: 'DeleteCell', cellId: 'c' },
        { type: 'MoveCell', cellId: 'b', position: 0 },
        { type: 'UpdateCell', cellId: 'd', kind: 'MARKDOWN', isClosed: true },
      );
      expect(state.cells).toEqual([
        { cellId: 'b', kind: 'JS', value: 'b = 1', isClosed: false },
        { cellId: 'd', kind: 'MARKDOWN', value: 'd = 1', isClosed: true },
        { cellId: 'a', kind: 'JS', value: 'a = 1', isClosed: false },
      ]);
      expect(state.version).toBe(9);
    });

    it('tracks the owner, metadata and collaborators the edge authorizes with', () => {
      const state = run(
        create,
        { type: 'UpdateNotebook', title: 'Renamed', description: 'About', visibility: 'PUBLIC' },
        { type: 'ShareNotebook', userId: 'alice', role: 'VIEWER' },
        { type: 'ShareNotebook', userId: 'bob', role: 'VIEWER' },
        { type: 'ShareNotebook', userId: 'alice', role: 'EDITOR' },
        { type: 'UnshareNotebook', userId: 'bob' },
      );
      expect(state).toMatchObject({
        status: 'active',
        ownerId: 'owner',
        title: 'Renamed',
        description: 'About',
        visibility: 'PUBLIC',
        collaborators: [{ userId: 'alice', role: 'EDITOR' }],
      });
      expect([roleOf(state, 'owner'), roleOf(state, 'alice'), roleOf(state, 'bob')]).toEqual(['OWNER', 'EDITOR', null]);
    });

    it('replaces the content on restore and keeps visibility and sharing', () => {
      const commands: NotebookCommand[] = [create, add('a'), add('b')];
      const target = run(...commands);
      const state = run(
        ...commands,
        { type: 'UpdateNotebook', title: 'Renamed', visibility: 'PUBLIC' },
        { type: 'ShareNotebook', userId: 'alice', role: 'EDITOR' },
        { type: 'DeleteCell', cellId: 'a' },
        add('c', 0),
        { type: 'RestoreNotebook', toVersion: 3, target },
      );
      expect(state).toMatchObject({ title: 'Notes', visibility: 'PUBLIC', version: 8 });
      expect(state.cells).toEqual(target.cells);
      expect(roleOf(state, 'alice')).toBe('EDITOR');
    });

    it('gives a fork the source content and leaves the source as it was', () => {
      const source = run(create, add('a'), add('b'), { type: 'MoveCell', cellId: 'b', position: 0 });
      const fork = run({ type: 'ForkNotebook', sourceId: 'source', source, ownerId: 'alice', cellIds: ['x', 'y'] });
      expect(fork).toMatchObject({ ownerId: 'alice', forkedFrom: { notebookId: 'source', version: 4 }, version: 3 });
      expect(cellIdsOf(fork)).toEqual(['x', 'y']);
      expect(fork.cells.map((cell) => cell.value)).toEqual(['b = 1', 'a = 1']);
      const recorded = decide({ type: 'RecordFork', forkId: 'fork', forkedBy: 'alice', atVersion: 4 }, source).reduce(
        evolve,
        source,
      );
      expect(recorded).toEqual({ ...source, version: 5 });
    });

    it('marks a deleted notebook', () => {
      expect(run(create, { type: 'DeleteNotebook' })).toMatchObject({ status: 'deleted', version: 2 });
    });
  });
});
