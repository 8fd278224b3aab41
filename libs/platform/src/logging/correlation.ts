import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** HTTP header and NATS message header that carry a correlation id across services. */
export const CORRELATION_HEADER = 'x-correlation-id';

const storage = new AsyncLocalStorage<string>();

/** The correlation id of the request or message being handled, if any. */
export function currentCorrelationId(): string | undefined {
  return storage.getStore();
}

/** A caller's correlation id when it is a sane token, else a fresh one. */
export function acceptCorrelationId(given: unknown): string {
  return typeof given === 'string' && given.length <= 128 && /^[\w.:-]+$/.test(given) ? given : randomUUID();
}

/** Runs `fn` with `id` (or a fresh id) as the current correlation id; logs and outgoing requests carry it. */
export function withCorrelationId<T>(id: string | undefined, fn: () => T): T {
  return storage.run(acceptCorrelationId(id), fn);
}
