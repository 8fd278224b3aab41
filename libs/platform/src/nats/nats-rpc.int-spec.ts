import { createTestInfra, type TestInfra } from '@notebooks/testing';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { currentCorrelationId, withCorrelationId } from '../logging/correlation';
import { Metrics } from '../metrics/metrics';
import { NatsRpc } from './nats-rpc';
import { RpcException } from './rpc-exception';

describe(NatsRpc.name, () => {
  let infra: TestInfra;
  let connection: NatsConnection;
  const replicas: NatsRpc[] = [];
  const Echo = z.object({ text: z.string().min(1) });

  const replica = (name = 'echo-service') => {
    const rpc = new NatsRpc(connection, { servers: infra.natsUrl, name, namespace: infra.namespace }, new Metrics());
    replicas.push(rpc);
    return rpc;
  };

  beforeAll(async () => {
    infra = await createTestInfra();
    connection = await infra.connectNats();
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.onModuleDestroy()));
    await infra.dispose();
  });

  it('answers each request once across replicas of a queue group, and in the caller\'s correlation scope', async () => {
    const answeredBy: string[] = [];
    for (const id of ['a', 'b']) {
      replica().serve('rpc.echo', Echo, async ({ text }) => {
        answeredBy.push(id);
        return { text, correlationId: currentCorrelationId() };
      });
    }
    const client = replica('client');

    const replies = await withCorrelationId('corr-42', () =>
      Promise.all(Array.from({ length: 20 }, (_, i) => client.request<{ text: string; correlationId: string }>('rpc.echo', { text: `m${i}` }))),
    );

    expect(replies.map((r) => r.text)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(new Set(replies.map((r) => r.correlationId))).toEqual(new Set(['corr-42']));
    expect(answeredBy).toHaveLength(20);
    expect(new Set(answeredBy)).toEqual(new Set(['a', 'b']));
  });

  it('turns invalid input into BAD_USER_INPUT, keeps a handler\'s code, and hides unexpected errors', async () => {
    const server = replica();
    server.serve('rpc.strict', Echo, async ({ text }) => {
      if (text === 'conflict') throw new RpcException('CONFLICT', 'moved on', { currentVersion: 7 });
      throw new Error('database password is hunter2');
    });
    const client = replica('client');

    await expect(client.request('rpc.strict', { text: '' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('text') });
    await expect(client.request('rpc.strict', { text: 'conflict' })).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { currentVersion: 7 },
    });
    const hidden = client.request('rpc.strict', { text: 'boom' });
    await expect(hidden).rejects.toMatchObject({ code: 'INTERNAL_SERVER_ERROR', message: 'internal error' });
  });

  it('answers UNAVAILABLE when a handler meets a dependency that is down', async () => {
    const server = replica();
    server.serve('rpc.pg-down', Echo, async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    });

    await expect(replica('client').request('rpc.pg-down', { text: 'x' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('reports UNAVAILABLE when nobody answers', async () => {
    await expect(replica('client').request('rpc.nobody', {}, { timeoutMs: 500 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('finishes requests in flight when it shuts down, and takes no new ones', async () => {
    const server = replica();
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    server.serve('rpc.slow', Echo, async ({ text }) => {
      await slow;
      return { text };
    });
    const client = replica('client');
    const pending = client.request<{ text: string }>('rpc.slow', { text: 'kept' }, { timeoutMs: 5_000 });
    await new Promise((r) => setTimeout(r, 100));

    const stopped = server.onModuleDestroy();
    release();
    await stopped;

    expect(await pending).toEqual({ text: 'kept' });
    await expect(client.request('rpc.slow', { text: 'late' }, { timeoutMs: 500 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
