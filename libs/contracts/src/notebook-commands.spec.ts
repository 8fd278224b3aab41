import { NotebookCommandReply, NotebookCommandRequest, NotebookLimits, utf8ByteLength } from './notebook-commands';

const notebookId = '0b6c1f7e-3d1a-4c55-9b1e-2f4f1c9d8a10';
const actorId = '5f0e8a3c-7b2d-4e91-a6c4-1d2e3f4a5b6c';
const addCell = (value: string) => ({ type: 'AddCell', notebookId, kind: 'JS', value });

describe('NotebookCommandRequest', () => {
  it('accepts a command with its optional idempotency key and expected version', () => {
    const request = { command: addCell('x = 1'), actorId, idempotencyKey: 'k-1', expectedVersion: 0 };
    expect(NotebookCommandRequest.parse(request)).toEqual(request);
  });

  it('trims titles and bounds them to 1–200 characters, like the decider', () => {
    const create = (title: string) => ({
      command: { type: 'CreateNotebook', title, description: null, visibility: 'PRIVATE' },
      actorId,
    });
    expect(NotebookCommandRequest.parse(create(' Notes ')).command).toMatchObject({ title: 'Notes' });
    expect(NotebookCommandRequest.safeParse(create('   ')).success).toBe(false);
    expect(NotebookCommandRequest.safeParse(create('x'.repeat(NotebookLimits.titleMaxLength + 1))).success).toBe(false);
  });

  it('bounds cell values to 256 KiB of UTF-8', () => {
    const limit = NotebookLimits.cellValueMaxBytes;
    expect(NotebookCommandRequest.safeParse({ command: addCell('x'.repeat(limit)), actorId }).success).toBe(true);
    expect(NotebookCommandRequest.safeParse({ command: addCell('é'.repeat(limit / 2 + 1)), actorId }).success).toBe(false);
    expect(utf8ByteLength('é€𝄞')).toBe(2 + 3 + 4);
  });

  it.each([
    ['an unknown command', { command: { type: 'EraseEverything', notebookId }, actorId }],
    ['a notebook id that is not a UUID', { command: { type: 'DeleteNotebook', notebookId: 'notebooks.>' }, actorId }],
    ['an empty idempotency key', { command: addCell(''), actorId, idempotencyKey: '' }],
    ['a negative expected version', { command: addCell(''), actorId, expectedVersion: -1 }],
    ['sharing as OWNER', { command: { type: 'ShareNotebook', notebookId, userId: actorId, role: 'OWNER' }, actorId }],
  ])('rejects %s', (_, request) => {
    expect(NotebookCommandRequest.safeParse(request).success).toBe(false);
  });
});

describe('NotebookCommandReply', () => {
  it('names the notebook, its version and the cell touched', () => {
    const reply = { notebookId, version: 3, cellId: null, duplicate: false };
    expect(NotebookCommandReply.parse(reply)).toEqual(reply);
  });
});
