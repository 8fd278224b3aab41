import { aggregateIdOf, type EventCategory } from '@notebooks/contracts';
import { decodeCommit } from './commit-codec';
import { RetryLater, type ConsumerOptions, type DeliveredCommit } from './event-store';

export const CONSUMER_DEFAULTS = {
  batchSize: 100,
  ackWaitMs: 30_000,
  maxDeliver: 5,
  /** Redelivery delays after the 1st, 2nd, … failure: a short outage must not park healthy commits. */
  retryDelaysMs: [1_000, 5_000, 30_000, 120_000, 300_000],
} as const;

/** A commit waiting behind its aggregate's failed one comes back this soon (it has not failed itself). */
const HELD_RETRY_MS = 500;

/** One delivery as either adapter hands it over, with the adapter's acknowledgement verbs. */
export interface Delivery {
  sequence: number;
  subject: string;
  payload: Uint8Array;
  deliveryCount: number;
  ack(): void;
  /** Asks for redelivery after `delayMs`. */
  nak(delayMs: number): void;
}

/**
 * The consumer rules both adapters share, one instance per running consumer:
 * - an undecodable commit is poison at once;
 * - a failing batch is retried commit by commit, so one bad commit cannot hold the others back;
 * - a failed commit holds its aggregate: later commits of it are redelivered until it succeeds, is
 *   parked, or the hold lapses (another replica may have handled it). Order across replicas is
 *   not guaranteed — projections still guard by version;
 * - a commit that failed `maxDeliver` times goes to `onPoison` and is acknowledged (parked, never
 *   silently dropped) — but only while other commits succeed: when nothing does, the fault is
 *   taken for an outage and everything is redelivered later instead;
 * - if parking fails too, the commit is redelivered later;
 * - a {@link RetryLater} is redelivered after its own short delay and never parked.
 */
export class BatchProcessor {
  private readonly holds = new Map<string, { sequence: number; until: number }>();
  /** Real failures per sequence: redeliveries for holds and RetryLater do not count towards parking. */
  private readonly failures = new Map<number, number>();
  private lastSuccessAt = 0;

  constructor(private readonly options: ConsumerOptions) {}

  async process(deliveries: Delivery[]): Promise<void> {
    const decoded: [Delivery, DeliveredCommit][] = [];
    for (const delivery of deliveries) {
      try {
        decoded.push([delivery, toDelivered(this.options.category, delivery)]);
      } catch (error) {
        await this.park(delivery, `undecodable commit: ${describe(error)}`);
      }
    }
    const ready = decoded.filter(([delivery, commit]) => {
      if (!this.held(commit)) return true;
      delivery.nak(HELD_RETRY_MS);
      return false;
    });
    if (ready.length === 0) return;
    try {
      await this.options.handle(ready.map(([, commit]) => commit));
      for (const [delivery, commit] of ready) this.succeeded(delivery, commit);
      return;
    } catch (error) {
      if (ready.length === 1 && ready[0]) return this.failed(ready[0][0], ready[0][1], error);
    }
    for (const [delivery, commit] of ready) {
      if (this.held(commit)) {
        delivery.nak(HELD_RETRY_MS);
        continue;
      }
      try {
        await this.options.handle([commit]);
        this.succeeded(delivery, commit);
      } catch (error) {
        await this.failed(delivery, commit, error);
      }
    }
  }

  private held(commit: DeliveredCommit): boolean {
    const hold = this.holds.get(commit.ref.id);
    if (!hold) return false;
    if (Date.now() > hold.until) {
      this.holds.delete(commit.ref.id);
      return false;
    }
    return commit.sequence > hold.sequence;
  }

  private succeeded(delivery: Delivery, commit: DeliveredCommit): void {
    delivery.ack();
    this.failures.delete(delivery.sequence);
    this.lastSuccessAt = Date.now();
    if (this.holds.get(commit.ref.id)?.sequence === commit.sequence) this.holds.delete(commit.ref.id);
  }

  private async failed(delivery: Delivery, commit: DeliveredCommit, error: unknown): Promise<void> {
    if (error instanceof RetryLater) {
      delivery.nak(error.delayMs);
      return;
    }
    const failures = (this.failures.get(delivery.sequence) ?? 0) + 1;
    this.failures.set(delivery.sequence, failures);
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value as number);
    const delay = retryDelay(this.options, { deliveryCount: failures });
    const healthy = Date.now() - this.lastSuccessAt <= Math.max(...(this.options.retryDelaysMs ?? CONSUMER_DEFAULTS.retryDelaysMs)) + this.ackWaitMs();
    if (failures >= (this.options.maxDeliver ?? CONSUMER_DEFAULTS.maxDeliver) && healthy) {
      this.failures.delete(delivery.sequence);
      await this.park(delivery, `failed ${failures} times: ${describe(error)}`);
      if (this.holds.get(commit.ref.id)?.sequence === commit.sequence) this.holds.delete(commit.ref.id);
      return;
    }
    const hold = this.holds.get(commit.ref.id);
    if (!hold || commit.sequence <= hold.sequence) {
      this.holds.set(commit.ref.id, { sequence: commit.sequence, until: Date.now() + 2 * delay + this.ackWaitMs() });
    }
    delivery.nak(delay);
  }

  private async park(delivery: Delivery, error: string): Promise<void> {
    try {
      await this.options.onPoison({
        category: this.options.category,
        sequence: delivery.sequence,
        subject: delivery.subject,
        aggregateId: aggregateIdOf(delivery.subject),
        payload: delivery.payload,
        error,
        deliveryCount: delivery.deliveryCount,
      });
      delivery.ack();
    } catch (parkError) {
      this.options.onError?.(parkError);
      delivery.nak(retryDelay(this.options, delivery));
    }
  }

  private ackWaitMs(): number {
    return this.options.ackWaitMs ?? CONSUMER_DEFAULTS.ackWaitMs;
  }
}

function toDelivered(category: EventCategory, delivery: Delivery): DeliveredCommit {
  return {
    ref: { category, id: aggregateIdOf(delivery.subject) },
    sequence: delivery.sequence,
    deliveryCount: delivery.deliveryCount,
    commit: decodeCommit(delivery.payload),
  };
}

/** The delay before delivery n+1, after n deliveries. */
function retryDelay(options: ConsumerOptions, delivery: Pick<Delivery, 'deliveryCount'>): number {
  const delays = options.retryDelaysMs ?? CONSUMER_DEFAULTS.retryDelaysMs;
  return delays[Math.min(delivery.deliveryCount, delays.length) - 1] ?? delays[0] ?? 1_000;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
