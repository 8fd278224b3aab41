import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { NOTEBOOK_VERSION_CHANNEL, parseNotebookVersionPayload } from '@notebooks/contracts';
import { CONFIG } from '@notebooks/platform';
import { Client } from 'pg';
import type { GatewayConfig } from '../service';
import { NotebookReads } from './notebook-reads';

/** Even without a notification (listener reconnecting, notification lost) a waiter looks again this often. */
const RECHECK_MS = 250;
const RECONNECT_MS = 1_000;


/**
 * Read-your-writes: waits until the read model has a notebook at a version, bounded. projection-service
 * NOTIFYs in the transaction that applies a commit, so a waiter wakes the moment that commits, not at
 * the next poll; a periodic re-check keeps it correct while the listener is down.
 */
@Injectable()
export class NotebookVersions implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(NotebookVersions.name);
  private readonly waiters = new Map<string, Set<() => void>>();
  /** The listening connection, or the one being opened. */
  private listener: Client | null = null;
  private reconnect: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly reads: NotebookReads,
    @Inject(CONFIG) private readonly config: GatewayConfig,
  ) {}

  onModuleInit(): void {
    // Not awaited: the gateway serves without the listener (waiters re-check on their own) and a
    // database that does not answer must not hold start-up.
    void this.listen();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.reconnect) clearTimeout(this.reconnect);
    await this.listener?.end().catch(() => undefined);
  }

  /**
   * Runs `check` until it answers something other than undefined: again whenever the read model
   * announces a version of notebook `id`, and at least every RECHECK_MS. Undefined once
   * READ_YOUR_WRITES_TIMEOUT_MS have passed.
   */
  async poll<T>(id: string, check: () => Promise<T | undefined>): Promise<T | undefined> {
    const deadline = Date.now() + this.config.READ_YOUR_WRITES_TIMEOUT_MS;
    for (;;) {
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      // Registered before looking, so an announcement between the look and the wait is not missed.
      this.add(id, wake);
      try {
        const answer = await check();
        if (answer !== undefined) return answer;
        const remaining = deadline - Date.now();
        if (remaining <= 0) return undefined;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(remaining, RECHECK_MS))))]);
        clearTimeout(timer);
      } finally {
        this.remove(id, wake);
      }
    }
  }

  /** Whether the read model reached `version` of notebook `id` within the timeout. */
  async reached(id: string, version: number): Promise<boolean> {
    return (await this.poll(id, async () => ((await this.reads.version(id)) >= version ? true : undefined))) ?? false;
  }

  private add(id: string, waiter: () => void): void {
    const set = this.waiters.get(id) ?? new Set<() => void>();
    set.add(waiter);
    this.waiters.set(id, set);
  }

  private remove(id: string, waiter: () => void): void {
    const set = this.waiters.get(id);
    set?.delete(waiter);
    if (set?.size === 0) this.waiters.delete(id);
  }

  private notified(payload: string | undefined): void {
    const reached = payload === undefined ? null : parseNotebookVersionPayload(payload);
    if (!reached) return;
    for (const wake of this.waiters.get(reached.notebookId) ?? []) wake();
  }

  /** One connection per gateway replica; when it drops, waiters fall back to re-checking until it is back. */
  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.config.DATABASE_URL, application_name: 'gateway-listener', connectionTimeoutMillis: 5_000 });
    this.listener = client;
    client.on('notification', (message) => this.notified(message.payload));
    client.on('error', (error) => {
      this.logger.warn(`read-model listener lost: ${error.message}`);
      this.retry(client);
    });
    client.on('end', () => this.retry(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTEBOOK_VERSION_CHANNEL}`);
    } catch (error) {
      this.logger.warn(`read-model listener not connected: ${(error as Error).message}`);
      this.retry(client);
    }
  }

  private retry(client: Client): void {
    if (this.stopped || this.listener !== client) return;
    this.listener = null;
    void client.end().catch(() => undefined);
    this.reconnect = setTimeout(() => {
      this.reconnect = null;
      void this.listen();
    }, RECONNECT_MS);
  }
}
