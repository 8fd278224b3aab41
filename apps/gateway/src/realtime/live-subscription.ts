/** A subscriber fell further behind than its buffer allows: it is disconnected, not allowed to grow. */
export class SlowConsumer extends Error {
  override readonly name = 'SlowConsumer';
  /** What GraphQL and REST answer for it: the client may resubscribe from where it got to. */
  readonly extensions = { code: 'UNAVAILABLE' } as const;

  constructor(readonly limit: number) {
    super(`slow consumer: more than ${limit} events waiting`);
  }
}

/** What a subscriber reads before its live items: pulled, so a long catch-up is paced by the reader. */
export interface CatchUp<T> {
  next(): Promise<IteratorResult<T, undefined>>;
  /** Stops early; a pending `next` may still settle. */
  close(): void;
}

export interface LiveSubscriptionOptions<In, Out> {
  /** Live items buffered beyond this many fail the subscription with {@link SlowConsumer}. */
  limit: number;
  /** What the reader gets for an item, at the moment it reads it; undefined skips it. */
  present: (item: In) => Out | undefined;
  /** Told once when the buffer overflows (the transport disconnects the client). */
  onOverflow?: (error: SlowConsumer) => void;
  /** Told once when the subscription ends, however it ends. */
  onClose?: () => void;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * One subscriber's stream: first its catch-up (if any), then the live items a shared feed pushes,
 * which wait in a bounded buffer meanwhile. The transport pulls it as an async iterator. Written
 * by hand rather than as an async generator so that `return()` ends it at once, even while a read
 * is waiting for the next event (a generator's `return()` would wait for that event).
 */
export class LiveSubscription<In, Out> implements AsyncIterableIterator<Out, undefined> {
  private buffer: In[] = [];
  private catchUp: CatchUp<In> | undefined;
  private waiting: ((item: IteratorResult<In, undefined>) => void) | undefined;
  private failure: Error | undefined;
  private ended = false;
  /** Ends the catch-up read in progress, if any, when the subscription fails or ends (one per read, so nothing accumulates). */
  private cancelRead: (() => void) | undefined;

  constructor(private readonly options: LiveSubscriptionOptions<In, Out>) {}

  /** Reads `catchUp` first; live items pushed meanwhile wait in the buffer. */
  startWith(catchUp: CatchUp<In>): void {
    this.catchUp = catchUp;
  }

  get closed(): boolean {
    return this.ended || this.failure !== undefined;
  }

  /** Hands a live item to the reader, or buffers it; fails the subscription once the buffer is full. */
  push(item: In): void {
    if (this.closed) return;
    if (this.waiting && !this.catchUp) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: item, done: false });
      return;
    }
    this.buffer.push(item);
    if (this.buffer.length > this.options.limit) {
      const error = new SlowConsumer(this.options.limit);
      this.fail(error);
      this.options.onOverflow?.(error);
    }
  }

  /** Ends the subscription with `error` for the reader, now: what is buffered is dropped. */
  fail(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    this.buffer = [];
    this.catchUp?.close();
    this.wakeReader();
  }

  async next(): Promise<IteratorResult<Out, undefined>> {
    for (;;) {
      if (this.failure) {
        const error = this.failure;
        this.finish();
        throw error;
      }
      if (this.ended) return DONE;
      const read = await this.read();
      if (read.done) return this.closed ? this.next() : DONE;
      if (this.closed) continue;
      const value = this.options.present(read.value);
      if (value !== undefined) return { value, done: false };
    }
  }

  async return(): Promise<IteratorResult<Out, undefined>> {
    this.finish();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private async read(): Promise<IteratorResult<In, undefined>> {
    if (this.catchUp) {
      const catchUp = this.catchUp;
      const caught = await new Promise<IteratorResult<In, undefined>>((resolve) => {
        this.cancelRead = () => resolve(DONE);
        catchUp.next().then(resolve, (error: unknown) => {
          this.fail(error instanceof Error ? error : new Error(String(error)));
          resolve(DONE);
        });
      });
      this.cancelRead = undefined;
      if (!caught.done && !this.closed) return caught;
      this.catchUp = undefined;
    }
    const item = this.buffer.shift();
    if (item !== undefined) return { value: item, done: false };
    if (this.closed) return DONE;
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** A reader waiting for an item gets "done" and then finds out why. */
  private wakeReader(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(DONE);
    const cancelRead = this.cancelRead;
    this.cancelRead = undefined;
    cancelRead?.();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = undefined;
    this.buffer = [];
    this.catchUp?.close();
    this.catchUp = undefined;
    this.wakeReader();
    this.options.onClose?.();
  }
}
