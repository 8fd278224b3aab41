import { qualifySubject } from '@notebooks/contracts';
import { createTestInfra, type TestInfra } from '@notebooks/testing';
import type { NatsConnection } from '@nats-io/transport-node';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { z } from 'zod';
import { Metrics } from '../metrics/metrics';
import { NatsRpc } from './nats-rpc';
import { RpcException } from './rpc-exception';

describe(`${NatsRpc.name} tracing`, () => {
  let infra: TestInfra;
  let connection: NatsConnection;
  let server: NatsRpc;
  let client: NatsRpc;
  const exporter = new InMemorySpanExporter();
  const sdk = new NodeSDK({ serviceName: 'spec', autoDetectResources: false, spanProcessors: [new SimpleSpanProcessor({ exporter })], metricReaders: [], logRecordProcessors: [] });
  const Ask = z.object({ question: z.string().min(1) });

  /** The finished spans named `name`, once there are `count` of them (the server's may end after the client's). */
  const spansNamed = async (name: string, count = 1): Promise<ReadableSpan[]> => {
    for (let tries = 0; tries < 100; tries++) {
      const spans = exporter.getFinishedSpans().filter((span) => span.name === name);
      if (spans.length >= count) return spans;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no ${count} spans named ${name}: ${exporter.getFinishedSpans().map((s) => s.name).join(', ')}`);
  };

  beforeAll(async () => {
    sdk.start();
    infra = await createTestInfra();
    connection = await infra.connectNats();
    const options = { servers: infra.natsUrl, namespace: infra.namespace };
    server = new NatsRpc(connection, { ...options, name: 'answering-service' }, new Metrics());
    client = new NatsRpc(connection, { ...options, name: 'asking-service' }, new Metrics());
    server.serve('rpc.ask', Ask, async ({ question }) => {
      if (question === 'refuse') throw new RpcException('NOT_FOUND', 'no such thing');
      if (question === 'crash') throw new Error('the disk is on fire');
      return { traceId: trace.getActiveSpan()?.spanContext().traceId };
    });
  });

  afterEach(() => exporter.reset());

  afterAll(async () => {
    await Promise.all([server, client].map((rpc) => rpc?.onModuleDestroy()));
    await infra.dispose();
    await sdk.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('makes the request a CLIENT span of the caller and runs the handler in a SERVER span under it', async () => {
    const caller = trace.getTracer('spec').startSpan('caller');
    const reply = await context.with(trace.setSpan(context.active(), caller), () => client.request<{ traceId: string }>('rpc.ask', { question: 'why' }));
    caller.end();

    const [request] = await spansNamed('request rpc.ask');
    const [answer] = await spansNamed('process rpc.ask');
    const traceId = caller.spanContext().traceId;
    expect(reply.traceId).toBe(traceId);
    expect(request).toMatchObject({
      kind: SpanKind.CLIENT,
      parentSpanContext: expect.objectContaining({ spanId: caller.spanContext().spanId }),
      attributes: {
        'messaging.system': 'nats',
        'messaging.destination.name': qualifySubject(infra.namespace, 'rpc.ask'),
        'messaging.destination.template': 'rpc.ask',
        'messaging.operation.type': 'send',
        'notebooks.rpc.outcome': 'ok',
      },
      status: { code: SpanStatusCode.UNSET },
    });
    expect(request?.spanContext().traceId).toBe(traceId);
    expect(answer).toMatchObject({
      kind: SpanKind.SERVER,
      parentSpanContext: expect.objectContaining({ traceId, spanId: request?.spanContext().spanId, isRemote: true }),
      attributes: expect.objectContaining({
        'messaging.system': 'nats',
        'messaging.destination.name': qualifySubject(infra.namespace, 'rpc.ask'),
        'messaging.consumer.group.name': 'answering-service',
        'notebooks.rpc.outcome': 'ok',
      }),
    });
  });

  it('records a refusal or bad input as the outcome without marking an error, and a crash as an error on both sides', async () => {
    await expect(client.request('rpc.ask', { question: '' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(client.request('rpc.ask', { question: 'refuse' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(client.request('rpc.ask', { question: 'crash' })).rejects.toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });

    const summary = (spans: ReadableSpan[]) =>
      spans.map((span) => ({ error: span.attributes['error.type'], status: span.status.code, exceptions: span.events.map((e) => e.attributes?.['exception.message']) }));
    expect(summary(await spansNamed('request rpc.ask', 3))).toEqual([
      { error: 'BAD_USER_INPUT', status: SpanStatusCode.UNSET, exceptions: [] },
      { error: 'NOT_FOUND', status: SpanStatusCode.UNSET, exceptions: [] },
      { error: 'INTERNAL_SERVER_ERROR', status: SpanStatusCode.ERROR, exceptions: [] },
    ]);
    expect(summary(await spansNamed('process rpc.ask', 3))).toEqual([
      { error: 'BAD_USER_INPUT', status: SpanStatusCode.UNSET, exceptions: [] },
      { error: 'NOT_FOUND', status: SpanStatusCode.UNSET, exceptions: [] },
      { error: 'INTERNAL_SERVER_ERROR', status: SpanStatusCode.ERROR, exceptions: ['the disk is on fire'] },
    ]);
  });

  it('marks a request nobody answers as UNAVAILABLE, with the transport error', async () => {
    await expect(client.request('rpc.nobody', {}, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });

    const [request] = await spansNamed('request rpc.nobody');
    expect(request?.attributes['error.type']).toBe('UNAVAILABLE');
    expect(request?.status.code).toBe(SpanStatusCode.ERROR);
    expect(request?.events).toHaveLength(1);
  });
});
