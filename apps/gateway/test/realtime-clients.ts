import type { ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** How a WebSocket closed. */
export interface Closed {
  code: number;
  reason: string;
}

/** One subscription as a client sees it: what arrived, and how it ended. */
export class Subscribed<T> {
  readonly results: ExecutionResult<T>[] = [];
  error: unknown;
  completed = false;
  unsubscribe: () => void = () => undefined;

  /** `data` of every result that has some. */
  get data(): T[] {
    return this.results.flatMap((result) => (result.data ? [result.data] : []));
  }

  /** The `extensions.code` of the first GraphQL error it ended with or received, if any. */
  get errorCode(): string | undefined {
    const errors = Array.isArray(this.error) ? this.error : this.results.flatMap((result) => result.errors ?? []);
    return (errors[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code;
  }

  get ended(): boolean {
    return this.completed || this.error !== undefined;
  }

  /** Waits until `check` holds, failing with what arrived after `timeoutMs`. */
  async until(check: (subscribed: this) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this)) {
      if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; received ${JSON.stringify(this.results).slice(0, 2_000)}, error ${JSON.stringify(this.error)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** A real graphql-ws client (over `ws`) of one gateway, authenticated with `token` (none: no connectionParams). */
export class RealtimeClient {
  readonly client: Client;
  /** Resolves with the first close of the socket. */
  readonly closed: Promise<Closed>;

  constructor(gateway: string, token: string | null) {
    let onClosed!: (closed: Closed) => void;
    this.closed = new Promise((resolve) => (onClosed = resolve));
    this.client = createClient({
      url: `${gateway.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      ...(token !== null && { connectionParams: { authorization: `Bearer ${token}` } }),
      on: { closed: (event) => onClosed({ code: (event as Closed).code, reason: String((event as Closed).reason) }) },
    });
  }

  subscribe<T>(query: string, variables: Record<string, unknown> = {}): Subscribed<T> {
    const subscribed = new Subscribed<T>();
    subscribed.unsubscribe = this.client.subscribe<T>(
      { query, variables },
      {
        next: (result) => void subscribed.results.push(result as ExecutionResult<T>),
        error: (error) => (subscribed.error = error),
        complete: () => (subscribed.completed = true),
      },
    );
    return subscribed;
  }

  dispose(): Promise<void> {
    return Promise.resolve(this.client.dispose());
  }
}

/** One Server-Sent Event. */
export interface ServerSentEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** A Server-Sent-Events client over fetch, parsing the stream as the HTML standard says. */
export class SseClient {
  readonly events: ServerSentEvent[] = [];
  status = 0;
  /** The body of a response that was not a stream (an error). */
  body: unknown;
  ended = false;
  private readonly abort = new AbortController();

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const sse = new SseClient();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: sse.abort.signal });
    sse.status = response.status;
    if (!response.ok || !response.body) {
      sse.body = await response.json().catch(() => undefined);
      sse.ended = true;
      return sse;
    }
    void sse.read(response.body);
    return sse;
  }

  /** The `data` of each message event, parsed. */
  messages<T>(): T[] {
    return this.events.filter((event) => event.event === 'message').map((event) => JSON.parse(event.data) as T);
  }

  /** The `{ code, message }` the stream ended with, if it said. */
  get end(): { code: string; message: string } | undefined {
    const last = this.events.find((event) => event.event === 'end');
    return last && JSON.parse(last.data);
  }

  async until(check: (sse: this) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this)) {
      if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; received ${JSON.stringify(this.events).slice(0, 2_000)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.abort.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    let event: { id?: string; event?: string; data: string[] } = { data: [] };
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
          if (line === '') {
            if (event.data.length > 0) this.events.push({ id: event.id, event: event.event ?? 'message', data: event.data.join('\n') });
            event = { data: [] };
            continue;
          }
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') event.data.push(value);
          else if (field === 'id') event.id = value;
          else if (field === 'event') event.event = value;
        }
      }
    } catch {
      // aborted by close(), or the connection was cut
    } finally {
      this.ended = true;
    }
  }
}
