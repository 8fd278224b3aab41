import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { DomainEvent } from '@notebooks/contracts';
import { EventStore } from '@notebooks/event-store';
import { DATABASE } from '@notebooks/platform';
import type { Kysely, Transaction } from 'kysely';
import type { AuthDatabase } from '../database';

const RELAY_INTERVAL_MS = 1_000;

/**
 * User events are decided in the same transaction as the account rows, stored here, and appended
 * to the USERS stream right after — or by the relay, which retries until the log has them. The
 * idempotency key makes a repeated publish (two replicas, a crash after appending) write once.
 */
@Injectable()
export class UserOutbox implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(UserOutbox.name);
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    @Inject(DATABASE) private readonly db: Kysely<AuthDatabase>,
    @Inject(EventStore) private readonly store: EventStore,
  ) {}

  /** Records `events` for user `userId` inside the caller's transaction. */
  async add(trx: Transaction<AuthDatabase>, userId: string, events: DomainEvent[], idempotencyKey: string): Promise<void> {
    await trx
      .insertInto('auth.outbox')
      .values({ stream_id: userId, events: JSON.stringify(events), actor_id: userId, idempotency_key: idempotencyKey })
      .execute();
  }

  /** Publishes what is waiting; concurrent calls share one pass. */
  flush(): Promise<void> {
    this.flushing ??= this.publishPending().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.flush().catch((error: unknown) => this.logger.warn(`outbox relay: ${String(error)}`));
    }, RELAY_INTERVAL_MS);
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing?.catch(() => undefined);
  }

  private async publishPending(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const pending = await trx
        .selectFrom('auth.outbox')
        .select(['id', 'stream_id', 'events', 'actor_id', 'idempotency_key'])
        .where('published_at', 'is', null)
        .orderBy('id')
        .limit(100)
        .forUpdate()
        .skipLocked()
        .execute();
      for (const row of pending) {
        const events = (typeof row.events === 'string' ? JSON.parse(row.events) : row.events) as DomainEvent[];
        await this.store.append(
          { category: 'users', id: row.stream_id },
          { events, actorId: row.actor_id, idempotencyKey: row.idempotency_key },
          'any',
        );
        await trx.updateTable('auth.outbox').set({ published_at: new Date() }).where('id', '=', row.id).execute();
      }
    });
  }
}
