/**
 * Runs tasks with the same key one after another, tasks with different keys concurrently. Used so
 * that one process runs one command per aggregate at a time: concurrent commands then never race
 * each other in-process, and the optimistic check only has other replicas to settle.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
