import { defaultEventRegistry, type CommitMessage, type NotebookEvent } from '@notebooks/contracts';
import { ProjectionGap } from '@notebooks/projector';
import { randomUUID } from 'node:crypto';
import { InMemorySearchIndex } from './in-memory-search-index';
import { accessChange, projectSearchCommit } from './search.projection';

const registry = defaultEventRegistry();

/** A commit of `events` on notebook `id`, the first one at `version`. */
function commit(id: string, version: number, ...events: (NotebookEvent | { type: string; schemaVersion: number; data: unknown })[]): CommitMessage {
  return {
    commitId: randomUUID(),
    streamId: id,
    events: events.map((event, i) => ({
      id: randomUUID(),
      streamId: id,
      version: version + i,
      type: event.type,
      schemaVersion: 'schemaVersion' in event ? event.schemaVersion : registry.currentVersion(event.type as NotebookEvent['type']),
      occurredAt: new Date().toISOString(),
      actorId: null,
      correlationId: null,
      causationId: null,
      data: event.data,
    })),
  };
}

const created = (ownerId: string, title: string, visibility: 'PUBLIC' | 'PRIVATE' = 'PRIVATE', description: string | null = null): NotebookEvent => ({
  type: 'notebook.created',
  data: { ownerId, title, description, visibility, forkedFrom: null },
});
const cellCreated = (cellId: string, value: string, position = 0): NotebookEvent => ({ type: 'cell.created', data: { cellId, kind: 'JS', value, position, isClosed: false } });

describe(projectSearchCommit.name, () => {
  let sut: InMemorySearchIndex;
  const ada = randomUUID();
  const bob = randomUUID();
  const found = async (query: string, viewerId: string | null) => (await sut.search({ query, first: 100, viewerId })).hits.map((hit) => hit.cellId ?? 'notebook');

  beforeEach(() => {
    sut = new InMemorySearchIndex();
  });

  it('indexes a notebook and its cells, readable by its owner only while private', async () => {
    const id = randomUUID();
    await projectSearchCommit(sut, commit(id, 1, created(ada, 'Orbits', 'PRIVATE', 'of planets')));
    await projectSearchCommit(sut, commit(id, 2, cellCreated('c1', 'orbit = kepler()')));

    expect(await found('orbit', ada)).toEqual(['notebook', 'c1']);
    expect(await found('orbit', bob)).toEqual([]);
    expect(await found('orbit', null)).toEqual([]);
    expect(await sut.versionOf(id)).toBe(2);

    await projectSearchCommit(sut, commit(id, 3, { type: 'notebook.updated', data: { visibility: 'PUBLIC' } }));
    expect(await found('orbit', bob)).toEqual(['notebook', 'c1']);
    expect(await found('orbit', null)).toEqual(['notebook', 'c1']);
  });

  it('skips a commit already applied and refuses one ahead of the index', async () => {
    const id = randomUUID();
    const first = commit(id, 1, created(ada, 'Orbits'));
    await projectSearchCommit(sut, first);
    await projectSearchCommit(sut, commit(id, 2, { type: 'notebook.updated', data: { title: 'Moons' } }));
    await projectSearchCommit(sut, first);

    expect(sut.documents.get(`${id}/`)?.title).toBe('Moons');
    expect(await sut.versionOf(id)).toBe(2);
    await expect(projectSearchCommit(sut, commit(id, 4, cellCreated('c1', 'x')))).rejects.toBeInstanceOf(ProjectionGap);
  });

  it('keeps the description when only the title changes, and clears it when asked', async () => {
    const id = randomUUID();
    await projectSearchCommit(sut, commit(id, 1, created(ada, 'Orbits', 'PRIVATE', 'Kepler')));
    await projectSearchCommit(sut, commit(id, 2, { type: 'notebook.updated', data: { title: 'Moons' } }));
    expect(sut.documents.get(`${id}/`)).toMatchObject({ title: 'Moons', description: 'Kepler' });
    await projectSearchCommit(sut, commit(id, 3, { type: 'notebook.updated', data: { description: null } }));
    expect(sut.documents.get(`${id}/`)).toMatchObject({ title: 'Moons', description: null });
  });

  it('lets collaborators find a notebook while it is shared with them', async () => {
    const id = randomUUID();
    await projectSearchCommit(sut, commit(id, 1, created(ada, 'Orbits')));
    await projectSearchCommit(sut, commit(id, 2, { type: 'notebook.shared', data: { userId: bob, role: 'VIEWER' } }));
    expect(await found('orbits', bob)).toEqual(['notebook']);
    await projectSearchCommit(sut, commit(id, 3, { type: 'notebook.unshared', data: { userId: bob } }));
    expect(await found('orbits', bob)).toEqual([]);
    expect(await found('orbits', ada)).toEqual(['notebook']);
  });

  it('drops a deleted notebook and every document of it, keeping its version', async () => {
    const id = randomUUID();
    await projectSearchCommit(sut, commit(id, 1, created(ada, 'Orbits', 'PUBLIC'), cellCreated('c1', 'orbits')));
    await projectSearchCommit(sut, commit(id, 3, { type: 'notebook.deleted', data: {} }));

    expect(await found('orbits', ada)).toEqual([]);
    expect([...sut.documents.values()].filter((d) => d.notebookId === id)).toEqual([]);
    expect(sut.notebooks.get(id)).toMatchObject({ deleted: true, version: 3 });
  });

  it('follows cell edits (v1 events upcast), deletions and moves', async () => {
    const id = randomUUID();
    await projectSearchCommit(sut, commit(id, 1, created(ada, 'Cells'), cellCreated('c1', 'alpha'), cellCreated('c2', 'beta', 1)));
    await projectSearchCommit(sut, commit(id, 4, { type: 'cell.updated', schemaVersion: 1, data: { cellId: 'c1', value: 'gamma' } }));
    await projectSearchCommit(sut, commit(id, 5, { type: 'cell.updated', data: { cellId: 'c2', changes: { kind: 'MARKDOWN' } } }));
    await projectSearchCommit(sut, commit(id, 6, { type: 'cell.moved', data: { cellId: 'c2', position: 0 } }));
    expect(await found('gamma', ada)).toEqual(['c1']);
    expect(await found('alpha', ada)).toEqual([]);
    expect(await found('beta', ada)).toEqual(['c2']);

    await projectSearchCommit(sut, commit(id, 7, { type: 'cell.deleted', data: { cellId: 'c2' } }));
    expect(await found('beta', ada)).toEqual([]);
    expect(await sut.versionOf(id)).toBe(7);
  });

  it('replaces title, description, cells and (when given) visibility on a restore', async () => {
    const id = randomUUID();
    await projectSearchCommit(sut, commit(id, 1, created(ada, 'Draft'), cellCreated('c1', 'alpha'), cellCreated('c2', 'beta', 1)));
    await projectSearchCommit(
      sut,
      commit(id, 4, {
        type: 'notebook.restored',
        data: { toVersion: 1, title: 'Orbits', description: 'again', visibility: 'PUBLIC', cells: [{ cellId: 'c3', kind: 'JS', value: 'gamma', isClosed: false }] },
      }),
    );
    expect(await found('alpha', ada)).toEqual([]);
    expect(await found('gamma', bob)).toEqual(['c3']);
    expect(await found('orbits again', null)).toEqual(['notebook']);
  });
});

describe(accessChange.name, () => {
  it('nets out a commit: the last of sharing and unsharing a user wins', () => {
    const change = accessChange([
      { type: 'notebook.shared', data: { userId: 'u1', role: 'EDITOR' } },
      { type: 'notebook.unshared', data: { userId: 'u1' } },
      { type: 'notebook.unshared', data: { userId: 'u2' } },
      { type: 'notebook.shared', data: { userId: 'u2', role: 'VIEWER' } },
      { type: 'notebook.updated', data: { title: 'x' } },
    ]);
    expect(change).toEqual({ granted: ['u2'], revoked: ['u1'] });
  });

  it('records owner and visibility on creation, and deletion', () => {
    expect(accessChange([created('o', 't', 'PUBLIC'), { type: 'notebook.deleted', data: {} }])).toEqual({ ownerId: 'o', visibility: 'PUBLIC', deleted: true, granted: [], revoked: [] });
  });
});
