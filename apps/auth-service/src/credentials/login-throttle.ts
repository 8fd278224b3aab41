import { consumeOrRateLimited } from '@notebooks/platform';
import type { Pool } from 'pg';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';

export interface ThrottleConfig {
  LOGIN_MAX_FAILURES_PER_ACCOUNT: number;
  LOGIN_FAILURE_WINDOW_SECONDS: number;
  LOGIN_MAX_ATTEMPTS_PER_ADDRESS: number;
  LOGIN_ADDRESS_WINDOW_SECONDS: number;
  REGISTER_MAX_PER_ADDRESS: number;
  REGISTER_WINDOW_SECONDS: number;
}

/**
 * Brute-force brakes shared by every replica (counters live in Postgres): login attempts per
 * account, login attempts and registrations per client address. Each attempt is counted before it
 * is checked, so a burst of parallel guesses is counted too; a successful login clears its
 * account's count. Past a limit the answer is RATE_LIMITED with the seconds to wait — even with the
 * right password, so a locked account cannot be probed.
 */
export class LoginThrottle {
  private readonly perAccount: RateLimiterPostgres;
  private readonly loginsPerAddress: RateLimiterPostgres;
  private readonly registrationsPerAddress: RateLimiterPostgres;

  constructor(pool: Pool, config: ThrottleConfig) {
    const limiter = (keyPrefix: string, points: number, duration: number) =>
      new RateLimiterPostgres({ storeClient: pool, storeType: 'pool', schemaName: 'auth', tableName: 'login_limits', tableCreated: true, keyPrefix, points, duration });
    this.perAccount = limiter('account', config.LOGIN_MAX_FAILURES_PER_ACCOUNT, config.LOGIN_FAILURE_WINDOW_SECONDS);
    this.loginsPerAddress = limiter('address', config.LOGIN_MAX_ATTEMPTS_PER_ADDRESS, config.LOGIN_ADDRESS_WINDOW_SECONDS);
    this.registrationsPerAddress = limiter('register', config.REGISTER_MAX_PER_ADDRESS, config.REGISTER_WINDOW_SECONDS);
  }

  async admitLogin(account: string, address: string): Promise<void> {
    await consumeOrRateLimited(this.loginsPerAddress, addressKey(address));
    // Hashed: keys have a fixed size whatever the email's length.
    await consumeOrRateLimited(this.perAccount, createHash('sha256').update(account).digest('hex'));
  }

  async succeeded(account: string): Promise<void> {
    await this.perAccount.delete(createHash('sha256').update(account).digest('hex'));
  }

  async admitRegistration(address: string): Promise<void> {
    await consumeOrRateLimited(this.registrationsPerAddress, addressKey(address));
  }
}

/**
 * The unit a client controls: an IPv4 address, or an IPv6 /64 (one host usually has a whole /64,
 * so counting single IPv6 addresses would limit nothing).
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
