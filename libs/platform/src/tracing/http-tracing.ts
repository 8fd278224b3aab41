import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Probes and scrapes would drown the traces that matter. */
const UNTRACED = /^\/(health|metrics)(\/|$)/;

/** Attribute naming the request's correlation id (the `x-correlation-id` of its log lines). */
const ATTR_CORRELATION_ID = 'notebooks.correlation_id';

/**
 * A SERVER span around every HTTP request (but probes and scrapes), continuing the caller's
 * `traceparent`. Made here rather than by the http/fastify instrumentations: those patch modules
 * when they are first required, and every service has loaded Nest and Fastify long before
 * `runService` can start the SDK. The rest of the request (Nest, resolvers, NATS requests) runs
 * inside the span's context.
 */
export function traceHttpRequests(fastify: FastifyInstance, tracer = trace.getTracer('@notebooks/platform')): void {
  const spans = new WeakMap<FastifyRequest, Span>();

  fastify.addHook('onRequest', (request, _reply, done) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    if (UNTRACED.test(path)) return done();
    const route = request.routeOptions.url;
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          [ATTR_URL_PATH]: path,
          [ATTR_URL_SCHEME]: request.protocol,
          [ATTR_CLIENT_ADDRESS]: request.ip,
          [ATTR_CORRELATION_ID]: String(request.id),
          ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
          ...(request.headers['user-agent'] ? { [ATTR_USER_AGENT_ORIGINAL]: request.headers['user-agent'] } : {}),
        },
      },
      parent,
    );
    spans.set(request, span);
    context.with(trace.setSpan(parent, span), done);
  });

  fastify.addHook('onError', async (request, _reply, error) => {
    spans.get(request)?.recordException(error);
  });

  fastify.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
    // A 4xx is the client's mistake: only the server's own failures mark the span as an error.
    if (reply.statusCode >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, String(reply.statusCode));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  });

  fastify.addHook('onRequestAbort', async (request) => {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
    span.end();
  });
}
