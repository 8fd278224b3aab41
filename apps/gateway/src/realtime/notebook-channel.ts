import {
  eventDecoder,
  EventDecodeError,
  type CategoryEvent,
  type DecodedEnvelope,
  type EventEnvelope,
  type StreamRef,
} from '@notebooks/contracts';
import type { CategoryCommit, CommitSubscription, EventStore } from '@notebooks/event-store';
import type { GraphQLError } from 'graphql';
import { outputModel } from '../executions/notebook-executions';
import { gatewayError } from '../graphql/errors';
import type { Cell, NotebookEvent } from '../notebooks/notebook.models';
import { LiveSubscription, type CatchUp, type SlowConsumer } from './live-subscription';
import { canRead, evolveAccess, isMember, type NotebookAccess } from './notebook-access';

/**
 * One notebook event as every subscriber of this gateway gets it: decoded once, shared, in the two
 * forms `Notebook.history` has (for members of the notebook and for other readers, who do not see
 * actors' emails).
 */
export interface EventView {
  version: number;
  forMembers: NotebookEvent;
  forOthers: NotebookEvent;
}

/** What a channel needs from outside. */
export interface ChannelDeps {
  store: EventStore;
  /** The notebook's cells as the read model has them once it reached `version` (waiting, bounded). */
  cells(notebookId: string, version: number): Promise<Cell[]>;
  log: { warn(message: string): void; error(message: string): void };
  /** Each subscriber's buffer of live events (see {@link LiveSubscription}). */
  maxQueuedEvents: number;
}

/** How a subscriber's transport follows its subscription. */
export interface SubscriberHooks {
  onOverflow?: (error: SlowConsumer) => void;
  onClose?: () => void;
}

/** Where a channel starts: the access the read model showed at `version`. */
export interface ChannelStart {
  access: NotebookAccess;
  version: number;
}

interface Subscriber<In, Out> {
  /** Null: an anonymous reader (public notebooks only). */
  viewerId: string | null;
  subscription: LiveSubscription<In, Out>;
}

/** Recent events are kept for catching subscribers up without the log: at most this many, and this many payload bytes. */
const RECENT_EVENTS = 256;
const RECENT_BYTES = 1024 * 1024;

const decodeNotebookEvent = eventDecoder('notebooks');
const decodeExecutionEvent = eventDecoder('executions');
const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

export const notebookNotFound = (): GraphQLError => gatewayError('NOT_FOUND', 'notebook not found');

/**
 * A notebook's real-time feed in this gateway process: ONE ordered consumer on the notebook's
 * subject, however many subscribers, fanned out in memory (and, once someone asks for outputs, one
 * on its executions subject). It also keeps who may read the notebook, folded from the same events,
 * so every subscriber is checked again the moment an event changes access — no database round trip.
 *
 * The hand-over from catch-up to live: a subscriber is registered with the channel synchronously,
 * at version `boundary` (what the channel has applied), so every later event is pushed to its
 * buffer; events after `afterVersion` up to `boundary` come from the channel's recent events or from
 * the log, read on demand before the buffer. Nothing after `boundary` can be missed (it is pushed)
 * and nothing is seen twice (each subscriber also drops a version it has passed).
 */
export class NotebookChannel {
  private version: number;
  private access: NotebookAccess;
  private readonly recent: { view: EventView; bytes: number }[] = [];
  private recentBytes = 0;
  private readonly eventSubscribers = new Set<Subscriber<EventView, NotebookEvent>>();
  private readonly outputSubscribers = new Set<Subscriber<Cell, Cell>>();
  private readonly subscriptions: CommitSubscription[] = [];
  private outputsFeed: Promise<void> | undefined;
  private broken: Error | undefined;
  private closing = false;

  private constructor(
    readonly notebookId: string,
    start: ChannelStart,
    private readonly deps: ChannelDeps,
    private readonly hooks: { onIdle(channel: NotebookChannel): void; onBroken(channel: NotebookChannel): void },
  ) {
    this.version = start.version;
    this.access = start.access;
  }

  /** Opens the notebook's live feed right after the version `start` reflects. */
  static async open(notebookId: string, start: ChannelStart, deps: ChannelDeps, hooks: NotebookChannel['hooks']): Promise<NotebookChannel> {
    const channel = new NotebookChannel(notebookId, start, deps, hooks);
    const live = await deps.store.subscribe(channel.ref('notebooks'), { afterVersion: start.version });
    channel.follow(live, (item) => channel.applyNotebookCommit(item));
    return channel;
  }

  get subscriberCount(): number {
    return this.eventSubscribers.size + this.outputSubscribers.size;
  }

  /**
   * The notebook's events after `afterVersion` (null: from now on), then live ones, for `viewerId`.
   * NOT_FOUND when the viewer may not read the notebook, now or at any later event.
   */
  events(viewerId: string | null, afterVersion: number | null, hooks: SubscriberHooks = {}): LiveSubscription<EventView, NotebookEvent> {
    this.admit(viewerId);
    const boundary = this.version;
    let last = afterVersion ?? boundary;
    const subscriber: Subscriber<EventView, NotebookEvent> = {
      viewerId,
      subscription: new LiveSubscription({
        limit: this.deps.maxQueuedEvents,
        present: (view) => {
          if (view.version <= last) return undefined;
          if (view.version !== last + 1) {
            // A gap (a lagging or purged log, an undecodable commit): never pass over it silently.
            subscriber.subscription.fail(gatewayError('UNAVAILABLE', `the event stream skipped from version ${last} to ${view.version}; resubscribe after version ${last}`));
            return undefined;
          }
          last = view.version;
          return isMember(this.access, viewerId) ? view.forMembers : view.forOthers;
        },
        ...(hooks.onOverflow && { onOverflow: hooks.onOverflow }),
        onClose: () => this.leave(this.eventSubscribers, subscriber, hooks),
      }),
    };
    this.eventSubscribers.add(subscriber);
    if (last < boundary) subscriber.subscription.startWith(this.catchUp(last, boundary));
    return subscriber.subscription;
  }

  /** Execution results of the notebook's cells from now on, each as the cell with that output. */
  async outputs(viewerId: string | null, hooks: SubscriberHooks = {}): Promise<LiveSubscription<Cell, Cell>> {
    this.admit(viewerId);
    this.outputsFeed ??= this.deps.store.subscribe(this.ref('executions')).then(
      (subscription) => this.follow(subscription, (item) => this.applyExecutionCommit(item)),
      (error: unknown) => {
        this.outputsFeed = undefined;
        throw error;
      },
    );
    await this.outputsFeed;
    this.admit(viewerId);
    const subscriber: Subscriber<Cell, Cell> = {
      viewerId,
      subscription: new LiveSubscription({
        limit: this.deps.maxQueuedEvents,
        present: (cell) => cell,
        ...(hooks.onOverflow && { onOverflow: hooks.onOverflow }),
        onClose: () => this.leave(this.outputSubscribers, subscriber, hooks),
      }),
    };
    this.outputSubscribers.add(subscriber);
    return subscriber.subscription;
  }

  /** Stops the feeds; subscribers still open end as if the service were going away. */
  async close(): Promise<void> {
    this.closing = true;
    const unavailable = gatewayError('UNAVAILABLE', 'the gateway is closing this stream; reconnect');
    for (const subscriber of [...this.eventSubscribers, ...this.outputSubscribers]) subscriber.subscription.fail(unavailable);
    await Promise.all(this.subscriptions.map((subscription) => subscription.close()));
  }

  private ref(category: 'notebooks' | 'executions'): StreamRef {
    return { category, id: this.notebookId };
  }

  private admit(viewerId: string | null): void {
    if (this.broken || this.closing) throw gatewayError('UNAVAILABLE', 'the event stream is unavailable; retry shortly');
    if (!canRead(this.access, viewerId)) throw notebookNotFound();
  }

  private leave<In, Out>(set: Set<Subscriber<In, Out>>, subscriber: Subscriber<In, Out>, hooks: SubscriberHooks): void {
    set.delete(subscriber);
    hooks.onClose?.();
    if (this.subscriberCount === 0 && !this.closing) this.hooks.onIdle(this);
  }

  /** Applies a subscription's commits one at a time until it ends; a failure breaks the channel. */
  private follow(subscription: CommitSubscription, apply: (item: CategoryCommit) => void | Promise<void>): void {
    if (this.closing) {
      void subscription.close(); // opened while the channel closed
      return;
    }
    this.subscriptions.push(subscription);
    void (async () => {
      try {
        for await (const item of subscription) await apply(item);
        if (!this.closing) this.break(new Error('the log subscription ended'));
      } catch (error) {
        if (!this.closing) this.break(error);
      }
    })();
  }

  private break(error: unknown): void {
    if (this.broken) return;
    this.broken = error instanceof Error ? error : new Error(String(error));
    this.deps.log.error(`real-time feed of notebook ${this.notebookId} failed: ${this.broken.message}`);
    const unavailable = gatewayError('UNAVAILABLE', 'the event stream was interrupted; resubscribe after the last version you received');
    for (const subscriber of [...this.eventSubscribers, ...this.outputSubscribers]) subscriber.subscription.fail(unavailable);
    this.hooks.onBroken(this);
  }

  private applyNotebookCommit(item: CategoryCommit): void {
    if (!item.commit) {
      this.deps.log.error(`undecodable commit at sequence ${item.sequence} of notebook ${this.notebookId}: ${item.error}`);
      return;
    }
    const views: EventView[] = [];
    let accessChanged = false;
    for (const envelope of item.commit.events) {
      if (envelope.version <= this.version) continue; // reflected in the start already
      if (envelope.version !== this.version + 1) this.deps.log.error(`notebook ${this.notebookId} jumped from version ${this.version} to ${envelope.version}`);
      const decoded = this.decode(envelope);
      if (decoded) {
        const access = evolveAccess(this.access, decoded) ?? this.access;
        accessChanged ||= access !== this.access;
        this.access = access;
      }
      this.version = envelope.version;
      views.push(viewOf(envelope, decoded));
    }
    if (views.length === 0) return;
    this.remember(views, item.payload.byteLength);
    for (const subscriber of this.eventSubscribers) {
      if (accessChanged && !canRead(this.access, subscriber.viewerId)) subscriber.subscription.fail(notebookNotFound());
      else for (const view of views) subscriber.subscription.push(view);
    }
    if (!accessChanged) return;
    for (const subscriber of this.outputSubscribers) {
      if (!canRead(this.access, subscriber.viewerId)) subscriber.subscription.fail(notebookNotFound());
    }
  }

  private async applyExecutionCommit(item: CategoryCommit): Promise<void> {
    if (!item.commit) {
      this.deps.log.error(`undecodable commit at sequence ${item.sequence} of executions of notebook ${this.notebookId}: ${item.error}`);
      return;
    }
    if (this.outputSubscribers.size === 0) return;
    const outputs: CategoryEvent<'executions'>['data'][] = [];
    for (const envelope of item.commit.events) {
      try {
        outputs.push(decodeExecutionEvent(envelope).data);
      } catch (error) {
        this.deps.log.warn(`execution event ${envelope.type}@${envelope.schemaVersion} of notebook ${this.notebookId} skipped: ${(error as Error).message}`);
      }
    }
    if (outputs.length === 0) return;
    let cells: Map<string, Cell>;
    try {
      // The cells as of (at least) the version the run computed from, so a cell created just before it is there.
      cells = new Map((await this.deps.cells(this.notebookId, Math.max(...outputs.map((output) => output.notebookVersion)))).map((cell) => [cell.id, cell]));
    } catch (error) {
      // Output subscribers resubscribe; the notebook's event subscribers are not concerned.
      this.deps.log.warn(`cells of notebook ${this.notebookId} unreadable for its outputs: ${(error as Error).message}`);
      const unavailable = gatewayError('UNAVAILABLE', 'execution results are unavailable for a moment; resubscribe');
      for (const subscriber of this.outputSubscribers) subscriber.subscription.fail(unavailable);
      return;
    }
    const ran = outputs.flatMap((output) => {
      const cell = cells.get(output.cellId);
      return cell ? [{ ...cell, output: outputModel(output) }] : []; // a cell deleted since has nothing to show
    });
    for (const subscriber of this.outputSubscribers) {
      if (canRead(this.access, subscriber.viewerId)) for (const cell of ran) subscriber.subscription.push(cell);
    }
  }

  /** Decoded (upcast) when the registry knows the event; a newer schema than this gateway knows passes as stored. */
  private decode(envelope: EventEnvelope): DecodedEnvelope<CategoryEvent<'notebooks'>> | null {
    try {
      return decodeNotebookEvent(envelope);
    } catch (error) {
      if (!(error instanceof EventDecodeError)) throw error;
      this.deps.log.warn(`event ${envelope.type}@${envelope.schemaVersion} of notebook ${this.notebookId} is sent as stored: ${error.message}`);
      return null;
    }
  }

  private remember(views: EventView[], bytes: number): void {
    for (const view of views) {
      const share = Math.ceil(bytes / views.length);
      this.recent.push({ view, bytes: share });
      this.recentBytes += share;
    }
    while (this.recent.length > RECENT_EVENTS || (this.recentBytes > RECENT_BYTES && this.recent.length > 1)) {
      this.recentBytes -= this.recent.shift()?.bytes ?? 0;
    }
  }

  /** Events after `after` up to `upTo`: from the recent ones when they reach back far enough, else from the log. */
  private catchUp(after: number, upTo: number): CatchUp<EventView> {
    const oldest = this.recent[0]?.view.version;
    if (oldest !== undefined && oldest <= after + 1) {
      const views = this.recent.map((entry) => entry.view).filter((view) => view.version > after && view.version <= upTo);
      let index = 0;
      return {
        next: async () => (index < views.length ? { value: views[index++] as EventView, done: false } : DONE),
        close: () => (index = views.length),
      };
    }
    return this.catchUpFromLog(after, upTo);
  }

  /** An ordered consumer from the commit holding `after + 1`, read as the subscriber pulls, closed at `upTo`. */
  private catchUpFromLog(after: number, upTo: number): CatchUp<EventView> {
    let subscription: CommitSubscription | undefined;
    let iterator: AsyncIterator<CategoryCommit> | undefined;
    const pending: EventView[] = [];
    let reached = after;
    let closed = false;
    const close = () => {
      closed = true;
      void subscription?.close();
    };
    return {
      close,
      next: async () => {
        for (;;) {
          const view = pending.shift();
          if (view) return { value: view, done: false };
          if (closed || reached >= upTo) {
            close();
            return DONE;
          }
          subscription ??= await this.deps.store.subscribe(this.ref('notebooks'), { afterVersion: reached });
          if (closed) {
            close();
            return DONE;
          }
          iterator ??= subscription[Symbol.asyncIterator]();
          const read = await iterator.next();
          if (read.done) {
            if (closed) return DONE;
            throw gatewayError('UNAVAILABLE', 'the event log ended the catch-up early; resubscribe');
          }
          const { commit, sequence, error } = read.value;
          if (!commit) {
            this.deps.log.error(`undecodable commit at sequence ${sequence} of notebook ${this.notebookId}: ${error}`);
            continue;
          }
          for (const envelope of commit.events) {
            if (envelope.version > reached && envelope.version <= upTo) pending.push(viewOf(envelope, this.decode(envelope)));
          }
          reached = Math.max(reached, commit.events.at(-1)?.version ?? reached);
        }
      },
    };
  }
}

/** The event as `Notebook.history` shows it (same type, data and actor), before per-caller redaction. */
export function viewOf(envelope: EventEnvelope, decoded: DecodedEnvelope<CategoryEvent<'notebooks'>> | null): EventView {
  const base = {
    notebookId: envelope.streamId,
    version: envelope.version,
    type: decoded?.type ?? envelope.type,
    occurredAt: new Date(envelope.occurredAt),
    actorId: envelope.actorId,
    data: decoded?.data ?? envelope.data,
  };
  return { version: envelope.version, forMembers: { ...base, member: true }, forOthers: { ...base, member: false } };
}
