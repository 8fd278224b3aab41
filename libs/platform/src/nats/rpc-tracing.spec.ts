import { headers as natsHeaders } from '@nats-io/transport-node';
import { context, propagation, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_RPC_OUTCOME, extractTraceContext, injectTraceContext, recordRpcOutcome } from './rpc-tracing';

describe('NATS trace context', () => {
  describe('without an SDK', () => {
    it('writes no headers and finds no parent: the API stays a no-op', () => {
      const headers = natsHeaders();
      trace.getTracer('spec').startActiveSpan('request', (span) => {
        injectTraceContext(headers);
        span.end();
      });
      expect(headers.keys()).toEqual([]);
      expect(trace.getSpan(extractTraceContext(headers))).toBeUndefined();
    });
  });

  describe('with the SDK', () => {
    const exporter = new InMemorySpanExporter();
    const sdk = new NodeSDK({
      serviceName: 'spec',
      autoDetectResources: false,
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
      metricReaders: [],
      logRecordProcessors: [],
    });
    const tracer = () => trace.getTracer('spec');

    beforeAll(() => sdk.start());
    afterEach(() => exporter.reset());
    afterAll(async () => {
      await sdk.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    });

    it('injects the active span as a W3C traceparent, and extracts it as the remote parent', () => {
      const headers = natsHeaders();
      const sent = tracer().startActiveSpan('request', (span) => {
        injectTraceContext(headers);
        span.end();
        return span.spanContext();
      });

      expect(headers.get('traceparent')).toBe(`00-${sent.traceId}-${sent.spanId}-01`);
      const received = trace.getSpanContext(extractTraceContext(headers));
      expect(received).toEqual({ traceId: sent.traceId, spanId: sent.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    });

    it('carries tracestate, and a span started in the extracted context continues the trace', () => {
      const incoming = natsHeaders();
      incoming.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
      incoming.set('tracestate', 'vendor=opaque');

      const server = tracer().startSpan('process', {}, extractTraceContext(incoming));
      const outgoing = natsHeaders();
      injectTraceContext(outgoing, trace.setSpan(context.active(), server));
      server.end();

      expect(server.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(exporter.getFinishedSpans()[0]?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
      expect(outgoing.get('traceparent')).toBe(`00-0af7651916cd43dd8448eb211c80319c-${server.spanContext().spanId}-01`);
      expect(outgoing.get('tracestate')).toBe('vendor=opaque');
    });

    it('finds no parent in a message without headers, or with a malformed traceparent', () => {
      const malformed = natsHeaders();
      malformed.set('traceparent', 'not-a-trace');
      expect(trace.getSpan(extractTraceContext(undefined))).toBeUndefined();
      expect(trace.getSpan(extractTraceContext(natsHeaders()))).toBeUndefined();
      expect(trace.getSpan(extractTraceContext(malformed))).toBeUndefined();
    });

    it('marks a span as an error only for the platform\'s own failures', () => {
      const outcomes = ['ok', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'UNAVAILABLE', 'INTERNAL_SERVER_ERROR'] as const;
      for (const outcome of outcomes) {
        const span = tracer().startSpan(outcome);
        recordRpcOutcome(span, outcome, new Error('the database went away'));
        span.end();
      }

      const recorded = Object.fromEntries(
        exporter.getFinishedSpans().map((span) => [
          span.name,
          { outcome: span.attributes[ATTR_RPC_OUTCOME], errorType: span.attributes['error.type'], status: span.status.code, exceptions: span.events.length },
        ]),
      );
      expect(recorded).toEqual({
        ok: { outcome: 'ok', errorType: undefined, status: SpanStatusCode.UNSET, exceptions: 0 },
        BAD_USER_INPUT: { outcome: 'BAD_USER_INPUT', errorType: 'BAD_USER_INPUT', status: SpanStatusCode.UNSET, exceptions: 0 },
        NOT_FOUND: { outcome: 'NOT_FOUND', errorType: 'NOT_FOUND', status: SpanStatusCode.UNSET, exceptions: 0 },
        CONFLICT: { outcome: 'CONFLICT', errorType: 'CONFLICT', status: SpanStatusCode.UNSET, exceptions: 0 },
        UNAVAILABLE: { outcome: 'UNAVAILABLE', errorType: 'UNAVAILABLE', status: SpanStatusCode.ERROR, exceptions: 1 },
        INTERNAL_SERVER_ERROR: { outcome: 'INTERNAL_SERVER_ERROR', errorType: 'INTERNAL_SERVER_ERROR', status: SpanStatusCode.ERROR, exceptions: 1 },
      });
    });
  });
});
