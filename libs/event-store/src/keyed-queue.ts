/**
 * Runs tasks with the same key one after another, tasks with different keys concurrently. Used so
 * that one process runs one command per aggregate at a time: concurrent commands then never race
 * each other in-process, and the optimistic check only has other replicas to settle.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /**
   * Runs `task` after the earlier tasks of `key`. With `maxWaitMs`, a task still waiting then is not
   * run at all (its caller has given up and may retry) and rejects with {@link QueueWaitExceeded}.
   */
  run<T>(key: string, task: () => Promise<T>, maxWaitMs?: number): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const deadline = maxWaitMs === undefined ? Infinity : Date.now() + maxWaitMs;
    const start = () => (Date.now() > deadline ? Promise.reject(new QueueWaitExceeded(key)) : task());
    const result = previous.then(start, start);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/** A task waited longer in its queue than its caller would wait for the answer. */
export class QueueWaitExceeded extends Error {
  constructor(key: string) {
    super(`gave up waiting for earlier work on ${key}`);
    this.name = 'QueueWaitExceeded';
  }
}
