import { RpcException } from '@notebooks/platform';
import type { Pool } from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';

export interface ThrottleConfig {
  LOGIN_MAX_FAILURES_PER_ACCOUNT: number;
  LOGIN_FAILURE_WINDOW_SECONDS: number;
  LOGIN_MAX_ATTEMPTS_PER_ADDRESS: number;
  LOGIN_ADDRESS_WINDOW_SECONDS: number;
}

/**
 * Brute-force brakes shared by every replica (counters live in Postgres): failed logins per
 * account, and all login attempts per client address. Past either, login is RATE_LIMITED with the
 * seconds to wait — even with the right password, so a locked account cannot be probed.
 */
export class LoginThrottle {
  private readonly perAccount: RateLimiterPostgres;
  private readonly perAddress: RateLimiterPostgres;

  constructor(pool: Pool, config: ThrottleConfig) {
    const common = { storeClient: pool, storeType: 'pool', schemaName: 'auth', tableName: 'login_limits', tableCreated: true };
    this.perAccount = new RateLimiterPostgres({
      ...common,
      keyPrefix: 'account',
      points: config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      duration: config.LOGIN_FAILURE_WINDOW_SECONDS,
    });
    this.perAddress = new RateLimiterPostgres({
      ...common,
      keyPrefix: 'address',
      points: config.LOGIN_MAX_ATTEMPTS_PER_ADDRESS,
      duration: config.LOGIN_ADDRESS_WINDOW_SECONDS,
    });
  }

  /** Counts an attempt from `address` and refuses it when the address or the account is over its limit. */
  async admit(account: string, address: string | undefined): Promise<void> {
    if (address) {
      await this.perAddress.consume(address).catch((rejection: unknown) => {
        throw limited(rejection);
      });
    }
    const failures = await this.perAccount.get(account);
    if (failures && failures.consumedPoints >= this.perAccount.points) throw limited(failures);
  }

  async failed(account: string): Promise<void> {
    await this.perAccount.consume(account).catch((rejection: unknown) => {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
    });
  }

  async succeeded(account: string): Promise<void> {
    await this.perAccount.delete(account);
  }
}

function limited(rejection: unknown): unknown {
  if (!(rejection instanceof RateLimiterRes)) return rejection;
  const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
  return new RpcException('RATE_LIMITED', `too many login attempts; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
}
