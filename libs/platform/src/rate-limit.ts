import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RpcException } from './nats/rpc-exception';

/**
 * Counts one attempt for `key`; past the limit, RATE_LIMITED with `retryAfterSeconds`. Counted
 * before the attempt is made, so parallel attempts count too.
 */
export async function consumeOrRateLimited(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw new RpcException('RATE_LIMITED', `too many attempts; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }
}
