import {
  createSourceEventStream,
  execute,
  getOperationAST,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
} from 'graphql';

/** Whether the result of `payload` for a subscriber may be computed once for every subscriber who sent the same operation. */
export type Shareable = (payload: object, viewerId: string | null) => boolean;

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * Runs subscriptions as graphql's `subscribe` does — each source event executed against the
 * operation's selection — except that an event delivered to many subscribers who sent the same
 * operation (same text, operation name and variables) is executed once for all of them, when the
 * subscription field's rule says its result cannot differ between them. With thousands of
 * subscribers on one notebook, executing per subscriber would be most of the gateway's work.
 * Results live as long as the event object they belong to (a WeakMap): nothing to evict.
 */
export class SharedExecution {
  private readonly operations = new WeakMap<DocumentNode, string>();
  private readonly results = new WeakMap<object, Map<string, Result>>();

  /** @param rules for each subscription field, when its results may be shared; other fields never share. */
  constructor(private readonly rules: Readonly<Record<string, Shareable>>) {}

  /** Remembers what identifies the operation `document` was parsed from. */
  register(document: DocumentNode, query: string, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): void {
    this.operations.set(document, JSON.stringify([query, operationName ?? null, variables ?? {}]));
  }

  readonly subscribe = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const events = source[Symbol.asyncIterator]();
    const operation = this.operations.get(args.document);
    const field = (getOperationAST(args.document, args.operationName)?.selectionSet.selections[0] as FieldNode | undefined)?.name.value;
    const rule = field === undefined ? undefined : this.rules[field];
    const viewerId = (args.contextValue as { viewer?: { userId: string } | null } | undefined)?.viewer?.userId ?? null;
    const run = (payload: unknown): Result => {
      if (operation === undefined || !rule || typeof payload !== 'object' || payload === null || !rule(payload, viewerId)) return execute({ ...args, rootValue: payload });
      let byOperation = this.results.get(payload);
      if (!byOperation) this.results.set(payload, (byOperation = new Map()));
      let result = byOperation.get(operation);
      if (!result) byOperation.set(operation, (result = execute({ ...args, rootValue: payload })));
      return result;
    };
    const done = { value: undefined, done: true } as const;
    const mapped: AsyncIterableIterator<ExecutionResult> = {
      next: async () => {
        const next = await events.next();
        return next.done ? done : { value: await run(next.value), done: false };
      },
      return: async () => {
        await events.return?.();
        return done;
      },
      throw: async (error: unknown) => {
        await events.return?.();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return mapped;
      },
    };
    return mapped;
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}
