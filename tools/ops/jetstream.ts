import { JetStreamApiCodes, JetStreamApiError, type ConsumerInfo, type StreamInfo } from '@nats-io/jetstream';
import { EVENT_STREAMS, qualifyName, streamName, type EventCategory } from '@notebooks/contracts';
import type { Connections } from './connections';

/** The event log's streams as this namespace names them. */
export function eventStreams(namespace: string): { category: EventCategory; name: string }[] {
  return (Object.keys(EVENT_STREAMS) as EventCategory[]).map((category) => ({ category, name: streamName(namespace, category) }));
}

/** The stream a checkpoint's `stream` column means: a category (`notebooks`) or already a stream name. */
export function streamOf(namespace: string, stream: string): string {
  return stream in EVENT_STREAMS ? streamName(namespace, stream as EventCategory) : stream;
}

/** Stream info, or undefined when the stream does not exist. */
export async function streamInfo(connections: Connections, name: string): Promise<StreamInfo | undefined> {
  const jsm = await connections.jsm();
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw error;
  }
}

const MISSING: number[] = [JetStreamApiCodes.ConsumerNotFound, JetStreamApiCodes.StreamNotFound];

/** The durable consumer a projection reads with (named like the projection, in the namespace), or undefined. */
export async function consumerInfo(connections: Connections, stream: string, projection: string): Promise<ConsumerInfo | undefined> {
  const jsm = await connections.jsm();
  try {
    return await jsm.consumers.info(stream, qualifyName(connections.target.namespace, projection));
  } catch (error) {
    if (error instanceof JetStreamApiError && MISSING.includes(error.code)) return undefined;
    throw error;
  }
}

/** Every durable consumer of `stream`. */
export async function durableConsumers(connections: Connections, stream: string): Promise<ConsumerInfo[]> {
  const jsm = await connections.jsm();
  const consumers: ConsumerInfo[] = [];
  for await (const consumer of jsm.consumers.list(stream)) {
    if (consumer.config.durable_name) consumers.push(consumer);
  }
  return consumers.sort((a, b) => a.name.localeCompare(b.name));
}

/** A consumer's name without the namespace prefix. */
export function unqualified(namespace: string, name: string): string {
  return namespace && name.startsWith(`${namespace}_`) ? name.slice(namespace.length + 1) : name;
}
