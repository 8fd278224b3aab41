import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { EventStore } from '@notebooks/event-store';
import { z } from 'zod';
import type { Cell, NotebookEvent } from '../notebooks/notebook.models';
import type { LiveSubscription } from './live-subscription';
import { canRead } from './notebook-access';
import { NotebookChannel, notebookNotFound, type ChannelDeps, type ChannelStart, type EventView, type SubscriberHooks } from './notebook-channel';
import { REALTIME_CONFIG, type RealtimeConfig, type Transport } from './realtime.config';
import { RealtimeMetrics } from './realtime.metrics';
import { RealtimeReads } from './realtime-reads';

/**
 * The notebook channels of this gateway process: one per notebook someone follows, opened by its
 * first subscriber, closed a while after its last one left (so reconnects find it warm). Any
 * replica serves any client: every channel reads the log itself.
 */
@Injectable()
export class NotebookChannels implements OnModuleDestroy {
  private readonly logger = new Logger('Realtime');
  private readonly channels = new Map<string, NotebookChannel>();
  private readonly opening = new Map<string, Promise<NotebookChannel>>();
  private readonly starts = new Map<string, Promise<ChannelStart | null>>();
  private readonly lingering = new Map<string, NodeJS.Timeout>();
  private readonly deps: ChannelDeps;

  constructor(
    @Inject(EventStore) store: EventStore,
    private readonly reads: RealtimeReads,
    private readonly metrics: RealtimeMetrics,
    @Inject(REALTIME_CONFIG) private readonly config: RealtimeConfig,
  ) {
    this.deps = {
      store,
      cells: (notebookId, version) => reads.cells(notebookId, version),
      log: { warn: (message) => this.logger.warn(message), error: (message) => this.logger.error(message) },
      maxQueuedEvents: config.REALTIME_MAX_QUEUED_EVENTS,
    };
  }

  /** `Subscription.notebookEvents` and the notebook's event stream: NOT_FOUND for a notebook the viewer may not read. */
  notebookEvents(notebookId: string, viewerId: string | null, afterVersion: number | null, transport: Transport, hooks: SubscriberHooks = {}): Promise<LiveSubscription<EventView, NotebookEvent>> {
    return this.join(notebookId, viewerId, transport, 'notebookEvents', hooks, (channel, counted) => channel.events(viewerId, afterVersion, counted));
  }

  /** `Subscription.cellOutputs`: NOT_FOUND for a notebook the viewer may not read. */
  cellOutputs(notebookId: string, viewerId: string | null, transport: Transport, hooks: SubscriberHooks = {}): Promise<LiveSubscription<Cell, Cell>> {
    return this.join(notebookId, viewerId, transport, 'cellOutputs', hooks, (channel, counted) => channel.outputs(viewerId, counted));
  }

  async onModuleDestroy(): Promise<void> {
    for (const timer of this.lingering.values()) clearTimeout(timer);
    this.lingering.clear();
    const open = [...this.channels.values()];
    this.channels.clear();
    await Promise.all(open.map((channel) => channel.close()));
  }

  private async join<T>(
    notebookId: string,
    viewerId: string | null,
    transport: Transport,
    stream: string,
    hooks: SubscriberHooks,
    make: (channel: NotebookChannel, hooks: SubscriberHooks) => T | Promise<T>,
  ): Promise<T> {
    const channel = await this.channel(notebookId, viewerId);
    let counted = false;
    const closed = this.metrics.opened(transport, stream);
    try {
      const subscription = await make(channel, {
        onOverflow: (error) => {
          this.metrics.slowConsumerDisconnects.inc({ transport });
          hooks.onOverflow?.(error);
        },
        onClose: () => {
          closed();
          hooks.onClose?.();
        },
      });
      counted = true;
      return subscription;
    } finally {
      if (!counted) closed();
      // A viewer turned away leaves the channel as idle as it found it.
      if (channel.subscriberCount === 0) this.idle(channel);
    }
  }

  /**
   * The notebook's channel, opened if need be — but only for a viewer who may read the notebook,
   * so asking about hidden notebooks opens nothing on the log.
   */
  private async channel(notebookId: string, viewerId: string | null): Promise<NotebookChannel> {
    if (!z.uuid().safeParse(notebookId).success) throw notebookNotFound();
    const open = this.channels.get(notebookId) ?? (await this.opening.get(notebookId));
    if (open) {
      this.keep(notebookId);
      return open;
    }
    const start = await this.start(notebookId);
    if (!start || !canRead(start.access, viewerId)) throw notebookNotFound();
    const opened = this.channels.get(notebookId);
    if (opened) return opened;
    let opening = this.opening.get(notebookId);
    if (!opening) {
      opening = this.open(notebookId, start).finally(() => this.opening.delete(notebookId));
      this.opening.set(notebookId, opening);
    }
    return opening;
  }

  /** One read of the read model however many subscribers arrive at once. */
  private start(notebookId: string): Promise<ChannelStart | null> {
    let start = this.starts.get(notebookId);
    if (!start) {
      start = this.reads.start(notebookId).finally(() => this.starts.delete(notebookId));
      this.starts.set(notebookId, start);
    }
    return start;
  }

  private async open(notebookId: string, start: ChannelStart): Promise<NotebookChannel> {
    const channel = await NotebookChannel.open(notebookId, start, this.deps, {
      onIdle: (idle) => this.idle(idle),
      onBroken: (broken) => this.remove(broken),
    });
    this.channels.set(notebookId, channel);
    this.metrics.feeds.inc({ feed: 'notebook' });
    return channel;
  }

  private idle(channel: NotebookChannel): void {
    const { notebookId } = channel;
    if (this.lingering.has(notebookId) || this.channels.get(notebookId) !== channel) return;
    const timer = setTimeout(() => {
      this.lingering.delete(notebookId);
      if (channel.subscriberCount === 0) this.remove(channel);
    }, this.config.REALTIME_FEED_LINGER_MS);
    timer.unref();
    this.lingering.set(notebookId, timer);
  }

  private keep(notebookId: string): void {
    clearTimeout(this.lingering.get(notebookId));
    this.lingering.delete(notebookId);
  }

  private remove(channel: NotebookChannel): void {
    if (this.channels.get(channel.notebookId) !== channel) return;
    this.channels.delete(channel.notebookId);
    this.keep(channel.notebookId);
    this.metrics.feeds.dec({ feed: 'notebook' });
    channel.close().catch((error: unknown) => this.logger.warn(`closing the feed of notebook ${channel.notebookId}: ${String(error)}`));
  }
}
