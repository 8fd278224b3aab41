import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, consumeOrRateLimited } from '@notebooks/platform';
import { Pool } from 'pg';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import type { NotebookConfig } from '../service';

/**
 * Sharing by email tells the sharer whether the email has an account (the contract wants unknown
 * emails refused). Each user may look up only so many per hour, so nobody can sweep the user base.
 */
@Injectable()
export class ShareLookupThrottle implements OnApplicationShutdown {
  private readonly pool: Pool;
  private readonly limiter: RateLimiterPostgres;

  constructor(@Inject(CONFIG) config: NotebookConfig) {
    this.pool = new Pool({ connectionString: config.DATABASE_URL, max: 2, application_name: 'notebook-service:throttle' });
    this.pool.on('error', () => undefined); // a lost idle connection is replaced on next use
    this.limiter = new RateLimiterPostgres({
      storeClient: this.pool,
      storeType: 'pool',
      schemaName: 'notebook',
      tableName: 'share_lookup_limits',
      tableCreated: true,
      keyPrefix: 'share-lookup',
      points: config.SHARE_LOOKUPS_PER_HOUR,
      duration: 3_600,
    });
  }

  admit(actorId: string): Promise<void> {
    return consumeOrRateLimited(this.limiter, actorId);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
