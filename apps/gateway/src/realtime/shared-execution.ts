import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FragmentDefinitionNode,
} from 'graphql';
import { collectFields } from 'graphql/execution/collectFields';

/** Whether the result of `payload` for a subscriber may be computed once for every subscriber who sent the same operation. */
export type Shareable = (payload: object, viewerId: string | null) => boolean;

type Result = ExecutionResult | Promise<ExecutionResult>;

export interface SharedExecutionOptions {
  /** For each subscription field, when its results may be shared; other fields never share. */
  rules: Readonly<Record<string, Shareable>>;
  /** The context one event is executed with (e.g. with loaders of its own, so nothing cached outlives the event). */
  contextForEvent?: (contextValue: unknown) => unknown;
}

/**
 * Runs subscriptions as graphql's `subscribe` does — each source event executed against the
 * operation's selection — except that an event delivered to many subscribers who sent the same
 * operation (same text, operation name and variables) is executed once for all of them, when the
 * subscription field's rule says its result cannot differ between them. With thousands of
 * subscribers on one notebook, executing per subscriber would be most of the gateway's work.
 * Results live as long as the event object they belong to (a WeakMap): nothing to evict; and only
 * operations at least two open subscriptions share are kept, so a notebook's recent events hold
 * results for shared operations only, not one per subscriber.
 */
export class SharedExecution {
  private readonly operations = new WeakMap<DocumentNode, string>();
  private readonly results = new WeakMap<object, Map<string, Result>>();
  /** Open subscriptions per operation. */
  private readonly open = new Map<string, number>();

  constructor(private readonly options: SharedExecutionOptions) {}

  /** Remembers what identifies the operation `document` was parsed from. */
  register(document: DocumentNode, query: string, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): void {
    this.operations.set(document, JSON.stringify([query, operationName ?? null, variables ?? {}]));
  }

  readonly subscribe = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const events = source[Symbol.asyncIterator]();
    let operation: string | undefined;
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      if (operation !== undefined) this.leave(operation);
      await events.return?.();
    };
    try {
      operation = this.operations.get(args.document);
      if (operation !== undefined) this.open.set(operation, (this.open.get(operation) ?? 0) + 1);
      const field = rootField(args);
      const rule = field === undefined ? undefined : this.options.rules[field];
      const viewerId = (args.contextValue as { viewer?: { userId: string } | null } | undefined)?.viewer?.userId ?? null;
      const executeFor = (payload: unknown): Result =>
        execute({ ...args, rootValue: payload, contextValue: this.options.contextForEvent ? this.options.contextForEvent(args.contextValue) : args.contextValue });
      const run = (payload: unknown): Result => {
        const shared = operation !== undefined && (this.open.get(operation) ?? 0) >= 2;
        if (!shared || !rule || typeof payload !== 'object' || payload === null || !rule(payload, viewerId)) return executeFor(payload);
        let byOperation = this.results.get(payload);
        if (!byOperation) this.results.set(payload, (byOperation = new Map()));
        let result = byOperation.get(operation as string);
        if (!result) byOperation.set(operation as string, (result = executeFor(payload)));
        return result;
      };
      const done = { value: undefined, done: true } as const;
      const mapped: AsyncIterableIterator<ExecutionResult> = {
        next: async () => {
          try {
            const next = await events.next();
            if (next.done) {
              await release();
              return done;
            }
            return { value: await run(next.value), done: false };
          } catch (error) {
            await release();
            throw error;
          }
        },
        return: async () => {
          await release();
          return done;
        },
        throw: async (error: unknown) => {
          await release();
          throw error;
        },
        [Symbol.asyncIterator]() {
          return mapped;
        },
      };
      return mapped;
    } catch {
      // Nothing may hold the source once subscribing failed; the client learns no internals.
      await release().catch(() => undefined);
      return { errors: [new GraphQLError('internal error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] };
    }
  };

  private leave(operation: string): void {
    const count = (this.open.get(operation) ?? 1) - 1;
    if (count <= 0) this.open.delete(operation);
    else this.open.set(operation, count);
  }
}

/** The subscription's root field, as execution resolves it (fragments, inline fragments, @skip/@include). */
function rootField(args: ExecutionArgs): string | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  const type = args.schema.getSubscriptionType();
  if (!operation || !type) return undefined;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const fields = collectFields(args.schema, fragments, args.variableValues ?? {}, type, operation.selectionSet);
  const [first] = fields.values();
  return first?.[0]?.name.value;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}
