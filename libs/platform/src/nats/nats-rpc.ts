import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  headers as natsHeaders,
  NoRespondersError,
  RequestError,
  TimeoutError,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { qualifySubject, RpcReply, validationError, type RpcError } from '@notebooks/contracts';
import { trace, type Span } from '@opentelemetry/api';
import type { z } from 'zod';
import { CORRELATION_HEADER, currentCorrelationId, withCorrelationId } from '../logging/correlation';
import { Metrics } from '../metrics/metrics';
import { RpcException } from './rpc-exception';
import { answerSpanOptions, extractTraceContext, injectTraceContext, recordRpcOutcome, requestSpanOptions } from './rpc-tracing';
import { NATS_CONNECTION, NATS_OPTIONS, type NatsOptions } from './tokens';

export interface ServeOptions {
  /** Queue group: replicas of one service share the load. Defaults to the service's name. */
  queue?: string;
}

export interface RequestOptions {
  timeoutMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** A no-op until the SDK is started (see startTracing). */
const tracer = trace.getTracer('@notebooks/platform');

/**
 * Request/reply over NATS with JSON bodies validated by zod, `{ ok, data | error }` answers,
 * correlation ids and W3C trace context in headers (a CLIENT span per request, a SERVER span per
 * answer), queue groups, and a clean drain: on shutdown no new requests are taken and the ones in
 * flight finish before the connection closes.
 */
@Injectable()
export class NatsRpc implements OnModuleDestroy {
  private readonly logger = new Logger(NatsRpc.name);
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly connection: NatsConnection,
    @Inject(NATS_OPTIONS) private readonly options: NatsOptions,
    private readonly metrics: Metrics,
  ) {}

  /** Answers requests on `subject` (namespaced) with `handler`'s result; input failing `schema` gets BAD_USER_INPUT. */
  serve<S extends z.ZodType>(
    subject: string,
    schema: S,
    handler: (request: z.infer<S>) => Promise<unknown>,
    options: ServeOptions = {},
  ): Subscription {
    const queue = options.queue ?? this.options.name;
    const subscription = this.connection.subscribe(qualifySubject(this.options.namespace, subject), {
      queue,
      callback: (error, msg) => {
        if (error) {
          this.logger.error(`subscription ${subject} failed: ${error.message}`);
          return;
        }
        const done = this.answer(subject, queue, schema, handler, msg)
          .catch((failure: unknown) => this.logger.error({ err: failure, subject }, `could not answer ${subject}`))
          .finally(() => this.inFlight.delete(done));
        this.inFlight.add(done);
      },
    });
    this.subscriptions.push(subscription);
    return subscription;
  }

  /** Sends a request and returns the answer's data; an error answer is thrown as an {@link RpcException}. */
  async request<T = unknown>(subject: string, payload: unknown, options: RequestOptions = {}): Promise<T> {
    const wireSubject = qualifySubject(this.options.namespace, subject);
    return tracer.startActiveSpan(`request ${subject}`, requestSpanOptions(subject, wireSubject), async (span) => {
      try {
        const data = await this.send<T>(span, subject, wireSubject, payload, options);
        recordRpcOutcome(span, 'ok');
        return data;
      } catch (error) {
        recordRpcOutcome(span, error instanceof RpcException ? error.code : 'INTERNAL_SERVER_ERROR', error);
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private async send<T>(span: Span, subject: string, wireSubject: string, payload: unknown, options: RequestOptions): Promise<T> {
    const headers = natsHeaders();
    const correlationId = currentCorrelationId();
    if (correlationId) headers.set(CORRELATION_HEADER, correlationId);
    injectTraceContext(headers);
    const stop = this.metrics.rpcRequestDuration.startTimer({ subject });
    let msg: Msg;
    try {
      msg = await this.connection.request(wireSubject, encoder.encode(JSON.stringify(payload)), {
        timeout: options.timeoutMs ?? 5_000,
        headers,
      });
    } catch (error) {
      stop({ outcome: 'unavailable' });
      span.recordException(error as Error);
      this.logger.warn(`${subject} did not answer: ${(error as Error).message}`);
      throw new RpcException('UNAVAILABLE', 'a service this needs is unavailable; retry shortly');
    }
    const reply = RpcReply.safeParse(parseJson(msg.data));
    if (!reply.success) {
      stop({ outcome: 'error' });
      throw new RpcException('INTERNAL_SERVER_ERROR', `${subject} answered with a malformed reply`);
    }
    stop({ outcome: reply.data.ok ? 'ok' : reply.data.error.code });
    if (!reply.data.ok) throw new RpcException(reply.data.error.code, reply.data.error.message, reply.data.error.details);
    return reply.data.data as T;
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.drain().catch(() => undefined)));
    await Promise.allSettled([...this.inFlight]);
  }

  private answer<S extends z.ZodType>(
    subject: string,
    queue: string,
    schema: S,
    handler: (request: z.infer<S>) => Promise<unknown>,
    msg: Msg,
  ): Promise<void> {
    return withCorrelationId(msg.headers?.get(CORRELATION_HEADER), () =>
      tracer.startActiveSpan(`process ${subject}`, answerSpanOptions(subject, msg.subject, queue), extractTraceContext(msg.headers), async (span) => {
        const stop = this.metrics.rpcHandlerDuration.startTimer({ subject });
        let reply: RpcReply;
        let failure: unknown;
        try {
          const parsed = schema.safeParse(parseJson(msg.data));
          if (!parsed.success) {
            const { code, message } = validationError(parsed.error);
            throw new RpcException(code, message);
          }
          reply = { ok: true, data: (await handler(parsed.data)) ?? null };
        } catch (error) {
          failure = error;
          reply = { ok: false, error: this.toRpcError(subject, error) };
        }
        const outcome = reply.ok ? 'ok' : reply.error.code;
        stop({ outcome });
        recordRpcOutcome(span, outcome, failure);
        try {
          if (msg.reply) msg.respond(this.encodeReply(subject, reply));
        } finally {
          span.end();
        }
      }),
    );
  }

  /** An answer that cannot be encoded or is larger than NATS carries becomes an error answer, not silence. */
  private encodeReply(subject: string, reply: RpcReply): Uint8Array {
    try {
      const bytes = encoder.encode(JSON.stringify(reply));
      const limit = this.connection.info?.max_payload ?? Infinity;
      if (bytes.byteLength <= limit) return bytes;
      const tooLarge: RpcReply = { ok: false, error: { code: 'PAYLOAD_TOO_LARGE', message: `the answer is larger than ${limit} bytes` } };
      return encoder.encode(JSON.stringify(tooLarge));
    } catch (error) {
      return encoder.encode(JSON.stringify({ ok: false, error: this.toRpcError(subject, error) }));
    }
  }

  private toRpcError(subject: string, error: unknown): RpcError {
    if (error instanceof RpcException) return error.toJSON();
    if (isTransient(error)) {
      this.logger.warn(`handler for ${subject} met an unavailable dependency: ${(error as Error).message}`);
      return { code: 'UNAVAILABLE', message: 'a service this needs is unavailable; retry shortly' };
    }
    this.logger.error({ err: error, subject }, `handler for ${subject} failed`);
    return { code: 'INTERNAL_SERVER_ERROR', message: 'internal error' };
  }
}

/** A message body as JSON; a body that is not JSON is the sender's mistake. */
function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    throw new RpcException('BAD_USER_INPUT', 'the message body is not valid JSON');
  }
}

/** NATS and network failures a retry may get past: answered UNAVAILABLE, not INTERNAL_SERVER_ERROR. */
export function isTransient(error: unknown): boolean {
  if ([TimeoutError, NoRespondersError, ClosedConnectionError, DrainingConnectionError, ConnectionError, RequestError].some((type) => error instanceof type)) {
    return true;
  }
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001'].includes(code);
}
