import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { eventDecoder, EventDecodeError, type CommitMessage } from '@notebooks/contracts';
import { EventStore, type CategoryCommit, type CommitSubscription } from '@notebooks/event-store';
import { gatewayError } from '../graphql/errors';
import type { NotebookEvent } from '../notebooks/notebook.models';
import { LiveSubscription, type CatchUp } from './live-subscription';
import { canRead, evolveAccess, isMember, type NotebookAccess } from './notebook-access';
import { viewOf, type ChannelStart, type EventView, type SubscriberHooks } from './notebook-channel';
import { REALTIME_CONFIG, type RealtimeConfig } from './realtime.config';
import { RealtimeMetrics } from './realtime.metrics';
import { RealtimeReads } from './realtime-reads';

/** Where a client of the stream of all notebooks is: a commit's stream sequence, and the last version of it received. */
export interface FeedPosition {
  sequence: number;
  /** Null: the whole commit was received. */
  version: number | null;
}

/** One event of the stream of all notebooks: its commit's place in the log, and the event. */
export interface FeedEvent {
  sequence: number;
  event: NotebookEvent;
}

interface FeedItem {
  sequence: number;
  view: EventView;
}

interface Subscriber {
  viewerId: string | null;
  subscription: LiveSubscription<FeedItem, FeedEvent>;
}

/** Access entries kept for the notebooks the feed has seen (least recently used go first). */
const ACCESS_CACHE_SIZE = 10_000;
/** How long the feed waits for the read model to reach a notebook it has no access entry for (the feed waits meanwhile). */
const LOOKUP_WAIT_MS = 1_000;
const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };
const decode = eventDecoder('notebooks');

/**
 * Every notebook's events, for the Server-Sent-Events stream of all notebooks a caller may see:
 * ONE ordered consumer on the notebooks category per gateway process while anyone follows it,
 * each commit shown to the subscribers who may read its notebook. Who may read a notebook is
 * cached per notebook (not per subscriber) and kept current by folding the very events that
 * change it; a notebook first seen mid-stream is read from the read model once it has that
 * commit. Resuming from `Last-Event-ID` reads the missed commits from the log (up to
 * REALTIME_MAX_RESUME_COMMITS), then joins live, with the same hand-over as a notebook channel.
 */
@Injectable()
export class AllNotebooksFeed implements OnModuleDestroy {
  private readonly logger = new Logger('Realtime');
  private readonly subscribers = new Set<Subscriber>();
  private readonly access = new Map<string, { access: NotebookAccess | null; version: number }>();
  private live: CommitSubscription | undefined;
  private starting: Promise<void> | undefined;
  private lingering: NodeJS.Timeout | undefined;
  /** The last sequence applied: subscribers joining now get everything after it pushed. */
  private sequence = 0;

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    private readonly reads: RealtimeReads,
    private readonly metrics: RealtimeMetrics,
    @Inject(REALTIME_CONFIG) private readonly config: RealtimeConfig,
  ) {}

  /** The events of notebooks `viewerId` may read, after `after` (null: from now on). */
  async join(viewerId: string | null, after: FeedPosition | null, hooks: SubscriberHooks = {}): Promise<LiveSubscription<FeedItem, FeedEvent>> {
    clearTimeout(this.lingering);
    this.lingering = undefined;
    await this.start();
    const boundary = this.sequence;
    if (after && boundary - after.sequence > this.config.REALTIME_MAX_RESUME_COMMITS) {
      if (this.subscribers.size === 0) this.linger();
      throw gatewayError('BAD_USER_INPUT', `Last-Event-ID is more than ${this.config.REALTIME_MAX_RESUME_COMMITS} commits behind: reconnect without it`);
    }
    let last: FeedPosition = after ?? { sequence: boundary, version: null };
    const closed = this.metrics.opened('sse', 'allNotebooks');
    const subscriber: Subscriber = {
      viewerId,
      subscription: new LiveSubscription<FeedItem, FeedEvent>({
        limit: this.config.REALTIME_MAX_QUEUED_EVENTS,
        present: (item) => {
          if (!isAfter(item, last)) return undefined;
          last = { sequence: item.sequence, version: item.view.version };
          const access = this.access.get(item.view.forMembers.notebookId)?.access;
          return { sequence: item.sequence, event: access && isMember(access, viewerId) ? item.view.forMembers : item.view.forOthers };
        },
        onOverflow: (error) => {
          this.metrics.slowConsumerDisconnects.inc({ transport: 'sse' });
          hooks.onOverflow?.(error);
        },
        onClose: () => {
          this.subscribers.delete(subscriber);
          closed();
          hooks.onClose?.();
          if (this.subscribers.size === 0) this.linger();
        },
      }),
    };
    this.subscribers.add(subscriber);
    if (after && after.sequence <= boundary) subscriber.subscription.startWith(this.catchUp(viewerId, after, boundary));
    return subscriber.subscription;
  }

  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.lingering);
    await this.stop();
  }

  private start(): Promise<void> {
    if (this.live) return Promise.resolve();
    this.starting ??= (async () => {
      const head = await this.store.head('notebooks');
      const live = await this.store.subscribeCategory('notebooks', head);
      this.sequence = head;
      this.live = live;
      this.metrics.feeds.inc({ feed: 'all' });
      void this.follow(live);
    })().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async stop(): Promise<void> {
    const live = this.live;
    if (!live) return;
    this.live = undefined;
    this.metrics.feeds.dec({ feed: 'all' });
    const unavailable = gatewayError('UNAVAILABLE', 'the gateway is closing this stream; reconnect');
    for (const subscriber of this.subscribers) subscriber.subscription.fail(unavailable);
    await live.close();
  }

  private linger(): void {
    if (this.lingering || !this.live) return;
    this.lingering = setTimeout(() => {
      this.lingering = undefined;
      if (this.subscribers.size === 0) void this.stop();
    }, this.config.REALTIME_FEED_LINGER_MS);
    this.lingering.unref();
  }

  private async follow(live: CommitSubscription): Promise<void> {
    let failure: unknown = new Error('the log subscription ended');
    try {
      for await (const item of live) await this.apply(item);
    } catch (error) {
      failure = error;
    }
    // Ended either way (unless stopped): subscribers are told to reconnect, the next join starts afresh.
    if (this.live !== live) return;
    this.logger.error(`the feed of all notebooks failed: ${failure instanceof Error ? failure.message : String(failure)}`);
    await this.stop().catch(() => undefined);
  }

  private async apply(item: CategoryCommit): Promise<void> {
    if (!item.commit) {
      this.logger.error(`undecodable commit at sequence ${item.sequence} of notebook ${item.ref.id}: ${item.error}`);
      this.sequence = item.sequence;
      return;
    }
    const access = await this.accessAfter(item.commit);
    const items = item.commit.events.map((envelope) => ({ sequence: item.sequence, view: viewOf(envelope, decodeOrNull(envelope)) }));
    this.sequence = item.sequence; // with the pushes, in one step: a subscriber joining from here on gets the next commit pushed
    for (const subscriber of this.subscribers) {
      if (canRead(access, subscriber.viewerId)) for (const feedItem of items) subscriber.subscription.push(feedItem);
    }
  }

  /**
   * Access to the commit's notebook once it is applied: folded from the cached entry when that is
   * current up to the commit; else (first sight, or the entry fell behind) read from the read model
   * once it has the commit before this one (waiting a little). A notebook's first commit needs no
   * read at all. Fails closed: when the read model is not far enough along, or cannot be read,
   * nobody gets the commit and nothing is cached (the next commit looks again) — folding this
   * commit onto an older row could miss e.g. the notebook being made private in between.
   */
  private async accessAfter(commit: CommitMessage): Promise<NotebookAccess | null> {
    const notebookId = commit.streamId;
    const first = commit.events[0]?.version ?? 1;
    const last = commit.events.at(-1)?.version ?? first;
    let entry = this.access.get(notebookId) ?? (first === 1 ? { access: null, version: 0 } : undefined);
    if (!entry || entry.version < first - 1) {
      let start: ChannelStart | null;
      try {
        start = await this.reads.startAtLeast(notebookId, last, LOOKUP_WAIT_MS);
      } catch (error) {
        this.logger.warn(`access to notebook ${notebookId} unreadable; its commit is not streamed: ${error instanceof Error ? error.message : String(error)}`);
        return null;
      }
      if (!start || start.version < first - 1) {
        this.logger.warn(`the read model lags behind notebook ${notebookId} (at ${start?.version ?? 'none'}, commit from ${first}); its commit is not streamed`);
        return null;
      }
      entry = start;
    }
    for (const envelope of commit.events) {
      if (envelope.version <= entry.version) continue;
      const decoded = decodeOrNull(envelope);
      entry = { access: decoded ? evolveAccess(entry.access, decoded) : entry.access, version: envelope.version };
    }
    this.remember(notebookId, entry);
    return entry.access;
  }

  private async currentAccess(notebookId: string): Promise<NotebookAccess | null> {
    const cached = this.access.get(notebookId);
    if (cached) return cached.access;
    const start = await this.reads.start(notebookId);
    const entry = start ?? { access: null, version: 0 };
    this.remember(notebookId, entry);
    return entry.access;
  }

  /** Caches `entry`, unless a newer one is cached already (a lookup may finish after the feed moved on). */
  private remember(notebookId: string, entry: { access: NotebookAccess | null; version: number }): void {
    const cached = this.access.get(notebookId);
    if (cached && cached.version > entry.version) return;
    this.access.delete(notebookId);
    this.access.set(notebookId, entry);
    if (this.access.size > ACCESS_CACHE_SIZE) this.access.delete(this.access.keys().next().value as string);
  }

  /** The commits after `after` up to `upTo`, from the log, of notebooks the viewer may read now. */
  private catchUp(viewerId: string | null, after: FeedPosition, upTo: number): CatchUp<FeedItem> {
    // The commit `after` names is read again when only part of it was received.
    const from = after.version === null ? after.sequence : after.sequence - 1;
    const commits = this.store.readCategory('notebooks', from, { toSequence: upTo })[Symbol.asyncIterator]();
    const pending: FeedItem[] = [];
    let closed = false;
    return {
      close: () => {
        closed = true;
        void commits.return?.()?.catch(() => undefined);
      },
      next: async () => {
        for (;;) {
          const item = pending.shift();
          if (item) return { value: item, done: false };
          if (closed) return DONE;
          const read = await commits.next();
          if (read.done) return DONE;
          const { commit, sequence } = read.value;
          if (!commit || !canRead(await this.currentAccess(commit.streamId), viewerId)) continue;
          for (const envelope of commit.events) pending.push({ sequence, view: viewOf(envelope, decodeOrNull(envelope)) });
        }
      },
    };
  }
}

function isAfter(item: FeedItem, position: FeedPosition): boolean {
  if (item.sequence !== position.sequence) return item.sequence > position.sequence;
  return position.version !== null && item.view.version > position.version;
}

function decodeOrNull(envelope: CommitMessage['events'][number]) {
  try {
    return decode(envelope);
  } catch (error) {
    if (error instanceof EventDecodeError) return null;
    throw error;
  }
}
