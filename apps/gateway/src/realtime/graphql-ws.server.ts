import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { GraphQLError, getOperationAST, NoSchemaIntrospectionCustomRule, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { CloseCode, type Context, type Disposable } from 'graphql-ws';
import { useServer, type Extra as SocketExtra } from 'graphql-ws/use/ws';
import { decodeJwt } from 'jose';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { AccessTokens } from '../auth/access-tokens';
import type { GatewayContext, Viewer } from '../graphql/context';
import { formatError, gatewayError } from '../graphql/errors';
import { GRAPHQL_MAX_TOKENS, graphqlHardening } from '../graphql/graphql.module';
import { ReadLoadersFactory } from '../notebooks/read-loaders';
import type { SlowConsumer } from './live-subscription';
import type { SubscriberHooks } from './notebook-channel';
import { REALTIME_CONFIG, type RealtimeConfig } from './realtime.config';
import { RealtimeMetrics } from './realtime.metrics';
import { SHARED_RESULTS } from './realtime.resolver';
import { SharedExecution } from './shared-execution';

const PATH = '/graphql';
/** Close codes beyond graphql-ws's own: a client that fell too far behind (4000 + 1008, policy violation). */
export const SLOW_CONSUMER_CLOSE_CODE = 4008;
/** A subscribe message is small; nothing larger is read. */
const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;
/** Server pings this often; a client that does not answer within the same time is dropped. */
const KEEP_ALIVE_MS = 12_000;
/** A socket told to close is cut this long after, if its client does not finish the close handshake (a slow one may still read why). */
const CLOSE_GRACE_MS = 5_000;

/** One authenticated graphql-ws connection: its viewer, and the timer that closes it when the token expires. */
export class RealtimeConnection {
  private readonly expiry: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly socket: WebSocket,
    readonly viewer: Viewer,
    readonly clientAddress: string,
    expiresAt: number,
    private readonly metrics: RealtimeMetrics,
  ) {
    // setTimeout keeps at most ~24.8 days; access tokens live minutes.
    this.expiry = setTimeout(() => this.close(CloseCode.Forbidden, 'Forbidden: the access token expired'), Math.min(expiresAt - Date.now(), 2 ** 31 - 1));
    this.expiry.unref();
    metrics.connections.inc();
  }

  /** What every subscription of this connection tells its stream: a slow consumer closes the whole socket. */
  hooks(): SubscriberHooks {
    return { onOverflow: (error: SlowConsumer) => this.close(SLOW_CONSUMER_CLOSE_CODE, error.message) };
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(code, reason);
    setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  dispose(): void {
    clearTimeout(this.expiry);
    this.metrics.connections.dec();
    this.closed = true;
  }
}

/** The context of an operation over graphql-ws: a request context, plus the connection it came on. */
export interface SubscriptionContext extends GatewayContext {
  connection?: RealtimeConnection;
}

/** What graphql-ws keeps per connection: the socket and upgrade request, and our connection once authenticated. */
type ConnectionExtra = { connection: RealtimeConnection };
type WsContext = Context<Record<string, unknown>, SocketExtra & Partial<ConnectionExtra>>;

/**
 * GraphQL subscriptions over graphql-ws (`graphql-transport-ws`) on `/graphql`, the path queries
 * use, attached to the same HTTP server. The client authenticates in `connection_init`
 * (`connectionParams.authorization`: an access token, with or without `Bearer `); without a valid
 * one the socket closes with 4401, and it closes with 4403 when the token expires (graphql-ws
 * clients then reconnect, asking for connectionParams again). Only subscriptions travel here, under
 * the validation rules HTTP operations meet (depth, cost, aliases, tokens; no introspection in
 * production), and errors are formatted as over HTTP. An event many subscribers share is executed
 * once for all who sent the same operation (SharedExecution).
 */
@Injectable()
export class GraphqlWsServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('GraphqlWs');
  private readonly hardening: ReturnType<typeof graphqlHardening>;
  /** Each event is executed with loaders of its own: a subscription lives long, nothing it looked up may go stale. */
  private readonly execution = new SharedExecution({
    rules: SHARED_RESULTS,
    contextForEvent: (context) => {
      const subscription = context as SubscriptionContext;
      return { ...subscription, loaders: this.loaders.create(subscription.viewer?.userId ?? null) } satisfies SubscriptionContext;
    },
  });
  private wss: WebSocketServer | undefined;
  private server: Disposable | undefined;
  private httpServer: Server | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly moduleRef: ModuleRef,
    private readonly tokens: AccessTokens,
    private readonly loaders: ReadLoadersFactory,
    private readonly metrics: RealtimeMetrics,
    @Inject(REALTIME_CONFIG) config: RealtimeConfig,
  ) {
    this.hardening = graphqlHardening(config);
  }

  onApplicationBootstrap(): void {
    const { schema } = this.moduleRef.get(GraphQLSchemaHost, { strict: false });
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
    this.wss = wss;
    this.server = useServer<Record<string, unknown>, ConnectionExtra>(
      {
        schema,
        subscribe: this.execution.subscribe,
        onConnect: (context) => this.connect(context),
        onSubscribe: (context, _id, payload) => this.subscribe(schema, context, payload),
        onNext: (_context, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map((error) => formatError(error.toJSON(), error)) } : undefined),
        onError: (_context, _id, _payload, errors) => errors.map((error) => formatError(error.toJSON(), error)),
        onClose: (context) => context.extra.connection?.dispose(),
      },
      wss,
      KEEP_ALIVE_MS,
    );
    this.httpServer = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.httpServer.on('upgrade', this.upgrade);
  }

  async onModuleDestroy(): Promise<void> {
    this.httpServer?.off('upgrade', this.upgrade);
    await Promise.resolve(this.server?.dispose()).catch((error: unknown) => this.logger.warn(`closing WebSockets: ${String(error)}`));
  }

  private readonly upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const wss = this.wss;
    if (!wss || new URL(request.url ?? '/', 'http://gateway').pathname !== PATH) {
      // Nobody else takes WebSockets: answer rather than leave the socket hanging.
      if (this.httpServer?.listenerCount('upgrade') === 1) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };

  private async connect(context: WsContext): Promise<boolean> {
    const { socket, request } = context.extra;
    const refuse = (code: number, reason: string) => {
      socket.close(code, reason);
      return false;
    };
    const given = context.connectionParams?.['authorization'];
    if (typeof given !== 'string' || given.trim() === '') return refuse(CloseCode.Unauthorized, 'Unauthorized: send connectionParams.authorization');
    const authorization = /^bearer /i.test(given.trim()) ? given.trim() : `Bearer ${given.trim()}`;
    let expiresAt: number;
    try {
      expiresAt = (decodeJwt(authorization.slice('Bearer '.length)).exp ?? 0) * 1000;
    } catch {
      return refuse(CloseCode.Unauthorized, 'Unauthorized: the access token is not valid');
    }
    if (expiresAt <= Date.now()) return refuse(CloseCode.Forbidden, 'Forbidden: the access token expired');
    let viewer: Viewer;
    try {
      viewer = await this.tokens.verify(authorization);
    } catch (error) {
      if (error instanceof GraphQLError && error.extensions['code'] === 'UNAVAILABLE') return refuse(1013, 'Try Again Later: authentication is unavailable');
      if (error instanceof GraphQLError && error.extensions['code'] === 'UNAUTHENTICATED') return refuse(CloseCode.Unauthorized, 'Unauthorized: the access token is not valid');
      throw error;
    }
    if (socket.readyState !== socket.OPEN) return false;
    context.extra.connection = new RealtimeConnection(socket, viewer, request.socket.remoteAddress ?? '', expiresAt, this.metrics);
    return true;
  }

  private subscribe(schema: GraphQLSchema, context: WsContext, payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }) {
    const connection = context.extra.connection;
    if (!connection) return [gatewayError('UNAUTHENTICATED', 'connection_init first')];
    if (Object.keys(context.subscriptions).length > MAX_SUBSCRIPTIONS_PER_CONNECTION) {
      return [gatewayError('RATE_LIMITED', `at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection`)];
    }
    let document: DocumentNode;
    try {
      document = parse(payload.query, { maxTokens: GRAPHQL_MAX_TOKENS });
    } catch (error) {
      return [this.badInput((error as Error).message)];
    }
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return [this.badInput('name the operation to run (operationName)')];
    if (operation.operation !== 'subscription') return [this.badInput('only subscriptions travel over WebSocket: send queries and mutations over HTTP')];
    const rules = [...specifiedRules, ...this.hardening.validationRules, ...(this.hardening.production ? [NoSchemaIntrospectionCustomRule] : [])];
    const invalid = validate(schema, document, rules);
    if (invalid.length > 0) return invalid.map((error) => this.badInput(error.message));
    this.execution.register(document, payload.query, payload.operationName, payload.variables);
    const contextValue: SubscriptionContext = {
      viewer: connection.viewer,
      clientAddress: connection.clientAddress,
      loaders: this.loaders.create(connection.viewer.userId),
      connection,
    };
    return { schema, document, operationName: payload.operationName ?? null, variableValues: payload.variables ?? null, contextValue };
  }

  /** A mistake in the operation; in production without "Did you mean …" (the schema stays private). */
  private badInput(message: string): GraphQLError {
    return gatewayError('BAD_USER_INPUT', this.hardening.production ? message.replace(/ ?Did you mean .*\?$/, '') : message);
  }
}
