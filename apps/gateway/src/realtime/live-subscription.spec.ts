import { LiveSubscription, type CatchUp } from './live-subscription';

describe(LiveSubscription.name, () => {
  it('ends a read waiting on its catch-up at once when returned, and reads live items after a catch-up', async () => {
    let closed = 0;
    const stuck: CatchUp<number> = { next: () => new Promise(() => undefined), close: () => void closed++ };
    const sut = new LiveSubscription<number, number>({ limit: 10, present: (item) => item });
    sut.startWith(stuck);
    const waiting = sut.next();
    await sut.return();

    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);

    const items = [1, 2, 3];
    const finite: CatchUp<number> = { next: async () => (items.length > 0 ? { value: items.shift() as number, done: false } : { value: undefined, done: true }), close: () => undefined };
    const reader = new LiveSubscription<number, number>({ limit: 10, present: (item) => item });
    reader.startWith(finite);
    reader.push(4);
    const read: number[] = [];
    for (let n = 0; n < 4; n++) read.push((await reader.next()).value as number);
    expect(read).toEqual([1, 2, 3, 4]);
  });

  it('fails a read whose catch-up fails, with that error', async () => {
    const sut = new LiveSubscription<number, number>({ limit: 10, present: (item) => item });
    sut.startWith({ next: async () => Promise.reject(new Error('log gone')), close: () => undefined });

    await expect(sut.next()).rejects.toThrow('log gone');
    expect(await sut.next()).toEqual({ value: undefined, done: true });
  });
});
