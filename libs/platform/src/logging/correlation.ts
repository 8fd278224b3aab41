import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** HTTP header and NATS message header that carry a correlation id across services. */
export const CORRELATION_HEADER = 'x-correlation-id';

const storage = new AsyncLocalStorage<string>();

/** The correlation id of the request or message being handled, if any. */
export function currentCorrelationId(): string | undefined {
  return storage.getStore();
}

/** Runs `fn` with `id` (or a fresh id) as the current correlation id; logs and outgoing requests carry it. */
export function withCorrelationId<T>(id: string | undefined, fn: () => T): T {
  return storage.run(id && isSafeId(id) ? id : randomUUID(), fn);
}

function isSafeId(id: string): boolean {
  return id.length <= 128 && /^[\w.:-]+$/.test(id);
}
