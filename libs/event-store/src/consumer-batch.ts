import { aggregateIdOf, type EventCategory } from '@notebooks/contracts';
import { decodeCommit } from './commit-codec';
import type { ConsumerOptions, DeliveredCommit } from './event-store';

export const CONSUMER_DEFAULTS = { batchSize: 100, ackWaitMs: 30_000, maxDeliver: 5 } as const;

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
 * The consumer rules both adapters share. Undecodable commits are poison at once. A failing batch
 * is retried commit by commit so one bad commit cannot hold the others back; a commit that failed
 * `maxDeliver` times is handed to `onPoison` and acknowledged — parked, never silently dropped.
 * (The server's own max-deliver would skip it with only an advisory, so it is left unlimited.)
 */
export async function processBatch(options: ConsumerOptions, deliveries: Delivery[]): Promise<void> {
  const maxDeliver = options.maxDeliver ?? CONSUMER_DEFAULTS.maxDeliver;
  const category = options.category;
  const decoded: [Delivery, DeliveredCommit][] = [];
  for (const delivery of deliveries) {
    try {
      decoded.push([delivery, toDelivered(category, delivery)]);
    } catch (error) {
      await park(options, delivery, `undecodable commit: ${describe(error)}`);
    }
  }
  if (decoded.length === 0) return;
  try {
    await options.handle(decoded.map(([, commit]) => commit));
    for (const [delivery] of decoded) delivery.ack();
    return;
  } catch (error) {
    const [only] = decoded;
    if (decoded.length === 1 && only) {
      await retryOrPark(options, only[0], error, maxDeliver);
      return;
    }
  }
  for (const [delivery, commit] of decoded) {
    try {
      await options.handle([commit]);
      delivery.ack();
    } catch (error) {
      await retryOrPark(options, delivery, error, maxDeliver);
    }
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

async function retryOrPark(options: ConsumerOptions, delivery: Delivery, error: unknown, maxDeliver: number): Promise<void> {
  if (delivery.deliveryCount >= maxDeliver) {
    await park(options, delivery, `failed ${delivery.deliveryCount} times: ${describe(error)}`);
  } else {
    delivery.nak(Math.min(10_000, 100 * 2 ** delivery.deliveryCount));
  }
}

async function park(options: ConsumerOptions, delivery: Delivery, error: string): Promise<void> {
  await options.onPoison({
    category: options.category,
    sequence: delivery.sequence,
    subject: delivery.subject,
    aggregateId: aggregateIdOf(delivery.subject),
    payload: delivery.payload,
    error,
    deliveryCount: delivery.deliveryCount,
  });
  delivery.ack();
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
