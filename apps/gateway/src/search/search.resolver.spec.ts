import type { SearchReply } from '@notebooks/contracts';
import type { NatsRpc } from '@notebooks/platform';
import { randomUUID } from 'node:crypto';
import type { GatewayContext } from '../graphql/context';
import type { Notebook } from '../notebooks/notebook.models';
import { SearchResolver } from './search.resolver';
import { SearchService } from './search.service';

function notebook(id: string): Notebook {
  const at = new Date(0);
  return { id, title: id, description: null, visibility: 'PUBLIC', ownerId: randomUUID(), forkedFromId: null, myRole: null, version: 1, createdAt: at, updatedAt: at };
}

describe(SearchResolver.name, () => {
  const setup = (reply: SearchReply, readable: Set<string>) => {
    const requests: unknown[] = [];
    const rpc = { request: async (_subject: string, payload: unknown) => (requests.push(payload), reply) } as unknown as NatsRpc;
    const context = {
      viewer: null,
      clientAddress: '127.0.0.1',
      loaders: { notebook: { load: async (id: string) => (readable.has(id) ? notebook(id) : null) } },
    } as unknown as GatewayContext;
    return { sut: new SearchResolver(new SearchService(rpc)), context, requests };
  };

  it('resolves each hit to its notebook, dropping those the read model does not show', async () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const hit = (notebookId: string, score: number) => ({ notebookId, cellId: null, snippet: `<mark>${notebookId}</mark>`, score });
    const { sut, context, requests } = setup({ hits: [hit(a, 3), hit(b, 2), hit(c, 1)], total: 7 }, new Set([a, c]));

    const result = await sut.search('  orbits ', null, context);

    expect(requests).toEqual([{ query: 'orbits', first: 20, viewerId: null }]);
    expect(result.hits.map((h) => [h.notebook.id, h.score])).toEqual([
      [a, 3],
      [c, 1],
    ]);
    expect(result.total).toBe(6);
  });

  it('refuses empty, whitespace-only and overlong queries and page sizes outside 1 to 100, asking nothing', async () => {
    const { sut, context, requests } = setup({ hits: [], total: 0 }, new Set());
    for (const [query, first] of [['', 20], [' \n\t ', 20], ['x'.repeat(501), 20], ['ok', 0], ['ok', 101], ['ok', 1.5]] as const) {
      await expect(sut.search(query, first, context)).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    }
    expect(requests).toEqual([]);
  });
});
