import type { NatsRpc } from '@notebooks/platform';
import { randomUUID } from 'node:crypto';
import { cellKey, type CellRef, type NotebookReads } from './notebook-reads';
import type { CellOutputModel, Notebook } from './notebook.models';
import { ReadLoadersFactory } from './read-loaders';

/** The read model as a port: counts the queries a request makes. */
class CountingReads {
  readonly calls: string[] = [];
  readonly missingUsers = new Set<string>();

  async notebooks(ids: readonly string[]) {
    this.calls.push(`notebooks(${ids.length})`);
    return new Map(ids.map((id) => [id, notebook(id, `owner-of-${id}`)]));
  }

  async cells(ids: readonly string[]) {
    this.calls.push(`cells(${ids.length})`);
    return new Map();
  }

  /** Cells whose id starts with `ran` have an output. */
  async cellOutputs(cells: readonly CellRef[]) {
    this.calls.push(`cellOutputs(${cells.length})`);
    return new Map(cells.filter((cell) => cell.cellId.startsWith('ran')).map((cell) => [cellKey(cell), output(cell.cellId)]));
  }

  async collaborators(ids: readonly string[]) {
    this.calls.push(`collaborators(${ids.length})`);
    return new Map();
  }

  async users(ids: readonly string[]) {
    this.calls.push(`users(${ids.length})`);
    return ids.filter((id) => !this.missingUsers.has(id)).map((id) => ({ id, email: `${id}@example.com`, display_name: id, created_at: new Date(0) }));
  }
}

function notebook(id: string, ownerId: string): Notebook {
  const at = new Date(0);
  return { id, title: id, description: null, visibility: 'PUBLIC', ownerId, forkedFromId: null, myRole: null, version: 1, createdAt: at, updatedAt: at };
}

function output(display: string): CellOutputModel {
  return { status: 'OK', display, value: null, html: null, error: null, durationMs: 1, notebookVersion: 1, executedAt: new Date(0) };
}

describe('ReadLoadersFactory', () => {
  const setup = () => {
    const reads = new CountingReads();
    const rpcCalls: unknown[] = [];
    const rpc = {
      request: async (_subject: string, payload: { userId: string }) => {
        rpcCalls.push(payload);
        return { id: payload.userId, email: 'new@example.com', displayName: 'New', createdAt: new Date(0).toISOString() };
      },
    };
    const loaders = new ReadLoadersFactory(reads as unknown as NotebookReads, rpc as unknown as NatsRpc).create(null);
    return { reads, rpcCalls, loaders };
  };

  it('answers a list of notebooks with their owners, cells and collaborators in one query each', async () => {
    const { reads, loaders } = setup();
    const ids = Array.from({ length: 20 }, () => randomUUID());
    const notebooks = await Promise.all(ids.map((id) => loaders.notebook.load(id)));
    await Promise.all(
      notebooks.map((found) =>
        Promise.all([loaders.user.load(found?.ownerId ?? ''), loaders.cells.load({ id: found?.id ?? '', version: 1 }), loaders.collaborators.load({ id: found?.id ?? '', version: 1 })]),
      ),
    );
    expect(reads.calls.sort()).toEqual(['cells(20)', 'collaborators(20)', 'notebooks(20)', 'users(20)']);
  });

  it('answers the outputs of every cell of every notebook in one query, null for a cell that has not run', async () => {
    const { reads, loaders } = setup();
    const notebooks = Array.from({ length: 20 }, () => randomUUID());
    const cells = notebooks.flatMap((notebookId) => ['ran-1', 'ran-2', 'idle'].map((cellId) => ({ notebookId, cellId })));
    const outputs = await Promise.all([...cells, ...cells].map((cell) => loaders.cellOutput.load(cell)));
    expect(reads.calls).toEqual(['cellOutputs(60)']);
    expect(outputs.slice(0, 3)).toEqual([output('ran-1'), output('ran-2'), null]);
    expect(outputs.filter((found) => found === null)).toHaveLength(40);
  });

  it('reads a notebook\'s content again once its version moved on, but not before', async () => {
    const { reads, loaders } = setup();
    const id = randomUUID();
    await loaders.cells.load({ id, version: 1 });
    await loaders.cells.load({ id, version: 1 });
    await loaders.cells.load({ id, version: 2 });
    expect(reads.calls).toEqual(['cells(1)', 'cells(1)']);
  });

  it('asks auth-service only for users the directory does not have yet', async () => {
    const { reads, rpcCalls, loaders } = setup();
    const [known, fresh] = [randomUUID(), randomUUID()];
    reads.missingUsers.add(fresh);
    const users = await loaders.user.loadMany([known, fresh]);
    expect(users).toEqual([expect.objectContaining({ id: known }), expect.objectContaining({ id: fresh, email: 'new@example.com' })]);
    expect(rpcCalls).toEqual([{ userId: fresh }]);
  });
});
