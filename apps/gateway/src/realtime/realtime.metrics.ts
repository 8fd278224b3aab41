import { Injectable } from '@nestjs/common';
import { Metrics } from '@notebooks/platform';
import { Counter, Gauge } from 'prom-client';
import type { Transport } from './realtime.config';

/** Real-time streams in the gateway's Prometheus registry. */
@Injectable()
export class RealtimeMetrics {
  readonly subscriptions: Gauge<'transport' | 'stream'>;
  readonly connections: Gauge;
  readonly feeds: Gauge<'feed'>;
  readonly slowConsumerDisconnects: Counter<'transport'>;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    this.subscriptions = new Gauge({
      name: 'realtime_subscriptions',
      help: 'Open real-time subscriptions, by transport and stream',
      labelNames: ['transport', 'stream'] as const,
      registers,
    });
    this.connections = new Gauge({ name: 'realtime_websocket_connections', help: 'Open graphql-ws connections', registers });
    this.feeds = new Gauge({
      name: 'realtime_live_feeds',
      help: 'Shared JetStream feeds open in this process (one per watched notebook, one for all notebooks)',
      labelNames: ['feed'] as const,
      registers,
    });
    this.slowConsumerDisconnects = new Counter({
      name: 'realtime_slow_consumer_disconnects_total',
      help: 'Clients disconnected because they fell further behind than their buffer allows',
      labelNames: ['transport'] as const,
      registers,
    });
  }

  /** Counts a subscription while it is open. */
  opened(transport: Transport, stream: string): () => void {
    this.subscriptions.inc({ transport, stream });
    let open = true;
    return () => {
      if (open) this.subscriptions.dec({ transport, stream });
      open = false;
    };
  }
}
