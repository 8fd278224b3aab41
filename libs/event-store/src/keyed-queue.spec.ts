import { KeyedQueue, QueueWaitExceeded } from './keyed-queue';

describe(KeyedQueue.name, () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('runs tasks of one key in order, one at a time, even when some fail', async () => {
    const sut = new KeyedQueue();
    const log: string[] = [];
    const task = (name: string, ms: number, fail = false) => async () => {
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };

    const results = await Promise.allSettled([sut.run('a', task('1', 20, true)), sut.run('a', task('2', 5)), sut.run('a', task('3', 1))]);

    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
  });

  it('runs tasks of different keys side by side', async () => {
    const sut = new KeyedQueue();
    const log: string[] = [];
    await Promise.all(['a', 'b'].map((key) => sut.run(key, async () => {
      log.push(`start ${key}`);
      await sleep(10);
      log.push(`end ${key}`);
    })));

    expect(log.slice(0, 2).sort()).toEqual(['start a', 'start b']);
  });

  it('drops a task that waited past its deadline instead of running it late', async () => {
    const sut = new KeyedQueue();
    let ran = false;
    const slow = sut.run('a', () => sleep(50));
    const late = sut.run('a', async () => void (ran = true), 10);

    await slow;
    await expect(late).rejects.toBeInstanceOf(QueueWaitExceeded);
    expect(ran).toBe(false);
  });
});
