import { Controller, Get, Logger, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { GatewayContexts, type GatewayContext } from '../graphql/context';
import { parseInput } from '../graphql/errors';
import type { NotebookEvent } from '../notebooks/notebook.models';
import { ReadLoadersFactory } from '../notebooks/read-loaders';
import { RestErrorFilter, restError } from '../rest/rest-error.filter';
import { RestViews } from '../rest/rest-views';
import type { NotebookEventBody } from '../rest/rest.schemas';
import { AllNotebooksFeed, type FeedPosition } from './all-notebooks-feed';
import { SlowConsumer } from './live-subscription';
import type { SubscriberHooks } from './notebook-channel';
import { NotebookChannels } from './notebook-channels';
import { presented } from './realtime.resolver';

const logger = new Logger('EventStream');

/** Comments keep proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** What `EventSource` waits before reconnecting after the stream ends. */
const RETRY_MS = 2_000;
/** A stream told to end is cut this long after if its client does not read what is left. */
const CLOSE_GRACE_MS = 5_000;
/** A client that reads nothing this long while data waits for it is cut (it resumes from its last id). */
export const WRITE_STALL_MS = 30_000;

const Version = z.string().regex(/^\d{1,15}$/, 'must be a version: a whole number, 0 or more').transform(Number);
const NotebookStreamQuery = z.strictObject({ afterVersion: Version.optional() });
const NotebookStreamParams = z.strictObject({ id: z.uuid('must be a notebook id (a UUID)') });
const SequenceId = z.string().regex(/^\d+(:\d+)?$/, 'must be "<sequence>" or "<sequence>:<version>"');

/** How a stream ended, as its last message says (`event: end`). */
interface StreamEnd {
  code: string;
  message: string;
}

/**
 * Server-Sent Events: `GET /api/notebooks/:id/events/stream` (one notebook's events, `id:` the
 * version; `Last-Event-ID` or `?afterVersion` resumes without a gap) and `GET /api/events/stream`
 * (the events of every notebook the caller may see, `id:` `<sequence>:<version>`). Each `data:` is
 * a NotebookEvent as the REST history answers it. Errors before the stream starts are REST errors;
 * once it runs, the stream ends with `event: end` and `{ code, message }`: NOT_FOUND when the caller
 * loses access, UNAUTHENTICATED when the access token expires, UNAVAILABLE for a slow consumer.
 */
@Controller('api')
@UseFilters(RestErrorFilter)
export class EventStreamController {
  constructor(
    private readonly contexts: GatewayContexts,
    private readonly channels: NotebookChannels,
    private readonly all: AllNotebooksFeed,
    private readonly views: RestViews,
    private readonly loaders: ReadLoadersFactory,
  ) {}

  @Get('notebooks/:id/events/stream')
  async notebookEvents(@Req() request: FastifyRequest<{ Params: { id: string } }>, @Res() reply: FastifyReply): Promise<void> {
    const stream = new SseStream(reply, expiryOf(request)); // first: it notices a client that leaves while we look things up
    const { id } = parseInput(NotebookStreamParams, request.params);
    const context = await this.contexts.create(request);
    const { afterVersion } = parseInput(NotebookStreamQuery, request.query);
    const lastEventId = request.headers['last-event-id'];
    const resumeAfter = typeof lastEventId === 'string' && lastEventId !== '' ? parseInput(Version, lastEventId) : afterVersion;
    const subscription = await this.channels.notebookEvents(id, context.viewer?.userId ?? null, resumeAfter ?? null, 'sse', stream.hooks());
    await stream.run(subscription, async (event) => frame(String(event.version), await this.body(context, event)));
  }

  @Get('events/stream')
  async allEvents(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const stream = new SseStream(reply, expiryOf(request));
    const context = await this.contexts.create(request);
    const lastEventId = request.headers['last-event-id'];
    const after = typeof lastEventId === 'string' && lastEventId !== '' ? positionOf(parseInput(SequenceId, lastEventId)) : null;
    const subscription = await this.all.join(context.viewer?.userId ?? null, after, stream.hooks());
    await stream.run(subscription, async ({ sequence, event }) => frame(`${sequence}:${event.version}`, await this.body(context, event)));
  }

  /** The event as REST's history answers it, looked up with loaders of its own (a stream lives long: nothing cached goes stale). */
  private async body(context: GatewayContext, event: NotebookEvent): Promise<NotebookEventBody> {
    const fresh: GatewayContext = { ...context, loaders: this.loaders.create(context.viewer?.userId ?? null) };
    return this.views.event(fresh, await presented(event, fresh));
  }
}

/** One response of `text/event-stream`, written as fast as the client reads it. */
class SseStream {
  private readonly response: ServerResponse;
  private ended = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private subscription: AsyncIterator<unknown> | undefined;
  /** The client went away (possibly before the stream started). */
  private gone = false;

  constructor(
    private readonly reply: FastifyReply,
    private readonly expiresAt: number | null,
  ) {
    this.response = reply.raw;
    this.response.once('close', () => {
      this.gone = true;
      this.end();
    });
  }

  /** A slow consumer's stream ends with a reason, then is cut. */
  hooks(): SubscriberHooks {
    return { onOverflow: (error) => this.end({ code: 'UNAVAILABLE', message: error.message }) };
  }

  async run<T>(subscription: AsyncIterator<T>, render: (item: T) => Promise<string>): Promise<void> {
    this.subscription = subscription;
    if (this.gone || this.ended || this.response.destroyed) {
      // The client left while the subscription was being set up: release it, write nothing.
      this.ended = true;
      await subscription.return?.();
      return;
    }
    this.reply.hijack();
    this.response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.response.write(`retry: ${RETRY_MS}\n\n`);
    this.timers.push(setInterval(() => this.response.write(': keep-alive\n\n'), HEARTBEAT_MS));
    if (this.expiresAt !== null) {
      this.timers.push(setTimeout(() => this.end({ code: 'UNAUTHENTICATED', message: 'the access token expired' }), Math.min(this.expiresAt - Date.now(), 2 ** 31 - 1)));
    }
    try {
      for (;;) {
        const next = await subscription.next();
        if (next.done || this.ended) break;
        if (!this.response.write(await render(next.value))) await this.drained();
      }
      this.end();
    } catch (error) {
      const known = restError(error) ?? (error instanceof SlowConsumer ? { code: error.extensions.code, message: error.message } : undefined);
      if (!known) logger.error({ err: error }, 'an event stream failed');
      this.end(known ? { code: known.code, message: known.message } : { code: 'INTERNAL_SERVER_ERROR', message: 'internal error' });
    }
  }

  /** Resolves once the client read what is written, or went away; one that reads nothing for WRITE_STALL_MS is cut. */
  private drained(): Promise<void> {
    if (this.gone || this.response.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const stalled = setTimeout(() => {
        logger.warn('an event stream client read nothing for a while: disconnected');
        this.end();
        this.response.destroy();
      }, WRITE_STALL_MS);
      const done = () => {
        clearTimeout(stalled);
        this.response.off('drain', done);
        this.response.off('close', done);
        resolve();
      };
      this.response.on('drain', done);
      this.response.on('close', done);
    });
  }

  private end(reason?: StreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    for (const timer of this.timers) clearTimeout(timer);
    void this.subscription?.return?.();
    if (this.response.writableEnded || this.response.destroyed) return;
    if (reason) this.response.write(`event: end\ndata: ${JSON.stringify(reason)}\n\n`);
    this.response.end();
    setTimeout(() => this.response.destroy(), CLOSE_GRACE_MS).unref();
  }
}

function frame(id: string, body: NotebookEventBody): string {
  return `id: ${id}\ndata: ${JSON.stringify(body)}\n\n`;
}

/** When the request's (already verified) access token expires; null for an anonymous request. */
function expiryOf(request: FastifyRequest): number | null {
  const token = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (!token) return null;
  return (decodeJwt(token).exp ?? 0) * 1000;
}

function positionOf(id: string): FeedPosition {
  const [sequence, version] = id.split(':');
  return { sequence: Number(sequence), version: version === undefined ? null : Number(version) };
}
