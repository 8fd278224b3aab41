import type { GraphqlLimits } from '../graphql/graphql.module';

/** The gateway's settings the real-time streams read (see `gatewayEnv`). */
export interface RealtimeConfig extends GraphqlLimits {
  /** Live events a subscriber may have waiting before it is disconnected as a slow consumer. */
  REALTIME_MAX_QUEUED_EVENTS: number;
  /** How long a notebook's shared feed stays open after its last subscriber left, for reconnects. */
  REALTIME_FEED_LINGER_MS: number;
  /** How far back (in commits) `Last-Event-ID` may resume the stream of all notebooks. */
  REALTIME_MAX_RESUME_COMMITS: number;
}
export const REALTIME_CONFIG = Symbol('REALTIME_CONFIG');

/** How a stream reaches its client: the label of the real-time metrics. */
export type Transport = 'graphql-ws' | 'sse';
