import type { MsgHdrs } from '@nats-io/transport-node';
import type { ErrorCode } from '@notebooks/contracts';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Context, type Span, type SpanOptions, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { RpcException } from './rpc-exception';

// Messaging conventions are still incubating upstream, so their names are spelled out here.
const ATTR_MESSAGING_SYSTEM = 'messaging.system';
const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
const ATTR_MESSAGING_DESTINATION_TEMPLATE = 'messaging.destination.template';
const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
/** `ok` or the answer's error code, on both sides of a request. */
export const ATTR_RPC_OUTCOME = 'notebooks.rpc.outcome';

const setter: TextMapSetter<MsgHdrs> = {
  set: (headers, key, value) => headers.set(key, value),
};

const getter: TextMapGetter<MsgHdrs | undefined> = {
  get: (headers, key) => headers?.get(key) || undefined,
  keys: (headers) => headers?.keys() ?? [],
};

/** Writes the trace context of `from` (W3C `traceparent`/`tracestate`, baggage) into a message's headers. */
export function injectTraceContext(headers: MsgHdrs, from: Context = context.active()): void {
  propagation.inject(from, headers, setter);
}

/** The sender's trace context from a message's headers; the root context when it sent none. */
export function extractTraceContext(headers: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, getter);
}

/** Options of the CLIENT span of a request to `subject` (as named in code) sent on `wireSubject` (namespaced). */
export function requestSpanOptions(subject: string, wireSubject: string): SpanOptions {
  return {
    kind: SpanKind.CLIENT,
    attributes: {
      [ATTR_MESSAGING_SYSTEM]: 'nats',
      [ATTR_MESSAGING_DESTINATION_NAME]: wireSubject,
      [ATTR_MESSAGING_DESTINATION_TEMPLATE]: subject,
      [ATTR_MESSAGING_OPERATION_NAME]: 'request',
      [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
    },
  };
}

/** Options of the SERVER span in which a request on `subject` is answered by a member of `queue`. */
export function answerSpanOptions(subject: string, wireSubject: string, queue: string): SpanOptions {
  return {
    kind: SpanKind.SERVER,
    attributes: {
      [ATTR_MESSAGING_SYSTEM]: 'nats',
      [ATTR_MESSAGING_DESTINATION_NAME]: wireSubject,
      [ATTR_MESSAGING_DESTINATION_TEMPLATE]: subject,
      [ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
      [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: queue,
    },
  };
}

/** Codes that say the answering side failed; every other code is the caller's mistake or a normal refusal. */
const FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['INTERNAL_SERVER_ERROR', 'UNAVAILABLE']);

/**
 * Records how a request went: its outcome, the error code as `error.type`, and status ERROR only for
 * the platform's own failures, so a BAD_USER_INPUT or NOT_FOUND does not read as an outage.
 */
export function recordRpcOutcome(span: Span, outcome: 'ok' | ErrorCode, cause?: unknown): void {
  span.setAttribute(ATTR_RPC_OUTCOME, outcome);
  if (outcome === 'ok') return;
  span.setAttribute(ATTR_ERROR_TYPE, outcome);
  if (!FAILURES.has(outcome)) return;
  // An RpcException is an answer, not a fault; an unexpected error is recorded with its stack.
  if (cause instanceof Error && !(cause instanceof RpcException)) span.recordException(cause);
  span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
}
