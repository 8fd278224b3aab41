import { NotebookSubjects, type NotebookCommandInput, type NotebookCommandReply } from '@notebooks/contracts';
import { Metrics, NatsRpc } from '@notebooks/platform';
import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { jetstream } from '@nats-io/jetstream';
import { aggregateSubject, streamName } from '@notebooks/contracts';
import { randomUUID } from 'node:crypto';

describe('notebook commands over NATS', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let rpc: NatsRpc;
  const owner = randomUUID();
  const editor = randomUUID();
  const viewer = randomUUID();
  const stranger = randomUUID();

  const send = (actorId: string, command: NotebookCommandInput, extra: { idempotencyKey?: string; expectedVersion?: number } = {}) =>
    rpc.request<NotebookCommandReply>(NotebookSubjects.command, { command, actorId, ...extra });
  const create = async (visibility: 'PRIVATE' | 'PUBLIC' = 'PRIVATE') =>
    (await send(owner, { type: 'CreateNotebook', title: 'Plots', description: null, visibility })).notebookId;
  const codeOf = (promise: Promise<unknown>) => promise.then(() => 'ok', (error: { code?: string }) => error.code);
  const commits = async (notebookId: string) => {
    const jsm = await jetstream(await infra.connectNats()).jetstreamManager();
    const stream = await jsm.streams.info(streamName(infra.namespace, 'notebooks'), { subjects_filter: aggregateSubject(infra.namespace, { category: 'notebooks', id: notebookId }) });
    return Object.values(stream.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  };

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['notebook-service'], infra.serviceEnv());
    rpc = new NatsRpc(await infra.connectNats(), { servers: infra.natsUrl, name: 'test-client', namespace: infra.namespace }, new Metrics());
  });

  afterAll(async () => {
    await services?.stop();
    await infra.dispose();
  });

  it('creates a notebook and edits its cells, answering with versions and cell ids', async () => {
    const notebookId = await create();
    const added = await send(owner, { type: 'AddCell', notebookId, kind: 'JS', value: 'x = 1' });
    const moved = await send(owner, { type: 'AddCell', notebookId, kind: 'MARKDOWN', value: '# hi', position: 0 });
    const updated = await send(owner, { type: 'UpdateCell', notebookId, cellId: added.cellId ?? '', value: 'x = 2' });

    expect(added).toEqual({ notebookId, version: 2, cellId: expect.any(String), duplicate: false });
    expect(moved.version).toBe(3);
    expect(updated).toEqual({ notebookId, version: 4, cellId: added.cellId, duplicate: false });
    expect(await send(owner, { type: 'UpdateCell', notebookId, cellId: added.cellId ?? '', value: 'x = 2' })).toMatchObject({ version: 4 });
    expect(await commits(notebookId)).toBe(4);
  });

  it('answers a stale expectedVersion with CONFLICT and the current version, writing nothing', async () => {
    const notebookId = await create();
    await send(owner, { type: 'UpdateNotebook', notebookId, title: 'Two' });

    await expect(send(owner, { type: 'UpdateNotebook', notebookId, title: 'Three' }, { expectedVersion: 1 })).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { currentVersion: 2 },
    });
    expect(await commits(notebookId)).toBe(2);
  });

  it('returns the first result to a retried command with the same idempotency key', async () => {
    const first = await send(owner, { type: 'CreateNotebook', title: 'Once', description: null, visibility: 'PRIVATE' }, { idempotencyKey: 'create-1' });
    const retry = await send(owner, { type: 'CreateNotebook', title: 'Once', description: null, visibility: 'PRIVATE' }, { idempotencyKey: 'create-1' });
    const otherActor = await send(editor, { type: 'CreateNotebook', title: 'Once', description: null, visibility: 'PRIVATE' }, { idempotencyKey: 'create-1' });

    expect(retry).toEqual({ ...first, duplicate: true });
    expect(otherActor.notebookId).not.toBe(first.notebookId);
    const cell = await send(owner, { type: 'AddCell', notebookId: first.notebookId, kind: 'JS', value: '1' }, { idempotencyKey: 'cell-1' });
    expect(await send(owner, { type: 'AddCell', notebookId: first.notebookId, kind: 'JS', value: '1' }, { idempotencyKey: 'cell-1' })).toEqual({ ...cell, duplicate: true });
    expect(await commits(first.notebookId)).toBe(2);
  });

  it('applies 25 concurrent cell additions, each with its own version', async () => {
    const notebookId = await create();
    const replies = await Promise.all(Array.from({ length: 25 }, (_, i) => send(owner, { type: 'AddCell', notebookId, kind: 'JS', value: `c${i} = ${i}` })));

    expect(replies.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 2));
    expect(new Set(replies.map((r) => r.cellId)).size).toBe(25);
  });

  it('enforces the role matrix, hiding what the actor may not see', async () => {
    const notebookId = await create();
    await send(owner, { type: 'ShareNotebook', notebookId, userId: editor, role: 'EDITOR' });
    await send(owner, { type: 'ShareNotebook', notebookId, userId: viewer, role: 'VIEWER' });
    const edit = (actor: string) => codeOf(send(actor, { type: 'AddCell', notebookId, kind: 'JS', value: '1' }));
    const share = (actor: string) => codeOf(send(actor, { type: 'ShareNotebook', notebookId, userId: randomUUID(), role: 'VIEWER' }));
    const hide = (actor: string) => codeOf(send(actor, { type: 'UpdateNotebook', notebookId, visibility: 'PUBLIC' }));
    const remove = (actor: string) => codeOf(send(actor, { type: 'DeleteNotebook', notebookId }));

    expect([await edit(editor), await share(editor), await hide(editor), await remove(editor)]).toEqual(['ok', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    expect([await edit(viewer), await share(viewer)]).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    expect([await edit(stranger), await share(stranger), await remove(stranger)]).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
    expect(await codeOf(send(stranger, { type: 'ForkNotebook', notebookId }))).toBe('NOT_FOUND');

    expect(await codeOf(send(stranger, { type: 'DeleteNotebook', notebookId }, { expectedVersion: 0 }))).toBe('NOT_FOUND');
    expect(await codeOf(send(stranger, { type: 'RestoreNotebook', notebookId, version: 1 }))).toBe('NOT_FOUND');
    expect(await codeOf(send(viewer, { type: 'RestoreNotebook', notebookId, version: 1 }))).toBe('FORBIDDEN');

    await send(owner, { type: 'UnshareNotebook', notebookId, userId: editor });
    expect(await edit(editor)).toBe('NOT_FOUND');
    expect(await remove(owner)).toBe('ok');
    expect(await edit(owner)).toBe('NOT_FOUND');
  });

  it('lets anyone fork a public notebook, copying its cells, and records the fork on the source', async () => {
    const notebookId = await create('PUBLIC');
    await send(owner, { type: 'AddCell', notebookId, kind: 'JS', value: 'a = 1' });
    expect(await codeOf(send(stranger, { type: 'AddCell', notebookId, kind: 'JS', value: '1' }))).toBe('FORBIDDEN');

    await expect(send(stranger, { type: 'ForkNotebook', notebookId }, { expectedVersion: 1 })).rejects.toMatchObject({ code: 'CONFLICT', details: { currentVersion: 2 } });
    const fork = await send(stranger, { type: 'ForkNotebook', notebookId, title: 'Mine now' }, { expectedVersion: 2 });
    expect(fork).toMatchObject({ version: 2, duplicate: false });
    expect(await send(stranger, { type: 'AddCell', notebookId: fork.notebookId, kind: 'JS', value: 'b = a + 1' })).toMatchObject({ version: 3 });
    expect(await commits(notebookId)).toBe(3); // created, cell, forked
  });

  it('restores past content by appending, and refuses versions the notebook never had', async () => {
    const notebookId = await create();
    const cell = await send(owner, { type: 'AddCell', notebookId, kind: 'JS', value: 'x = 1' });
    await send(owner, { type: 'UpdateCell', notebookId, cellId: cell.cellId ?? '', value: 'x = 99' });

    expect(await send(owner, { type: 'RestoreNotebook', notebookId, version: 2 })).toMatchObject({ version: 4 });
    expect(await send(owner, { type: 'RestoreNotebook', notebookId, version: 4 })).toMatchObject({ version: 4 });
    expect(await codeOf(send(owner, { type: 'RestoreNotebook', notebookId, version: 40 }))).toBe('BAD_USER_INPUT');
  });

  it('refuses bad input with a clear code and writes nothing', async () => {
    const notebookId = await create();
    const cases = await Promise.all([
      codeOf(send(owner, { type: 'UpdateNotebook', notebookId, title: 'x'.repeat(201) })),
      codeOf(send(owner, { type: 'AddCell', notebookId, kind: 'JS', value: 'x'.repeat(300 * 1024) })),
      codeOf(send(owner, { type: 'AddCell', notebookId, kind: 'JS', value: '1', position: 5 })),
      codeOf(send(owner, { type: 'MoveCell', notebookId, cellId: randomUUID(), position: 0 })),
      codeOf(send(owner, { type: 'ShareNotebook', notebookId, userId: owner, role: 'EDITOR' })),
      codeOf(send(owner, { type: 'UpdateNotebook', notebookId: randomUUID(), title: 'ghost' })),
      codeOf(rpc.request(NotebookSubjects.command, { command: { type: 'ShareNotebook', notebookId, userId: editor, role: 'OWNER' }, actorId: owner })),
    ]);

    expect(cases).toEqual(['BAD_USER_INPUT', 'PAYLOAD_TOO_LARGE', 'BAD_USER_INPUT', 'NOT_FOUND', 'BAD_USER_INPUT', 'NOT_FOUND', 'BAD_USER_INPUT']);
    expect(await commits(notebookId)).toBe(1);
  });
});
