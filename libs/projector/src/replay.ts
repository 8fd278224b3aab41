import type { CategoryCommit, EventStore } from '@notebooks/event-store';
import { sql, type Kysely, type Transaction } from 'kysely';
import { createHash } from 'node:crypto';
import { createProjectorTablesV1 } from './projector-tables.migration';
import type { ProjectionDefinition } from './projector';
import { RewriteSchemaPlugin, UndeclaredTableError, WithholdNotificationsPlugin } from './schema-rewrite.plugin';
import { assertReplayable, copyTableStructure, describeTables, UnsupportedTablesError, type TableStructure } from './table-structure';

export interface ReplayProgress {
  /** `replaying`: filling the staging tables; `swapping`: the last commits, with the live tables locked. */
  phase: 'replaying' | 'swapping';
  /** Commits this run has applied or parked. */
  applied: number;
  /** Stream sequence the staging tables have reached. */
  sequence: number;
  /** The category's head as last read. */
  head: number;
  /** Domain events per second over the last few seconds. */
  eventsPerSecond: number;
  /** Commits (stream messages) per second over the last few seconds. */
  commitsPerSecond: number;
  /** Seconds until `sequence` reaches `head` at that rate; null before there is a rate. */
  etaSeconds: number | null;
}

export type ReplayStatus =
  /** `resumedFrom`: the sequence an interrupted replay had reached, 0 when this one starts from the beginning. */
  | { type: 'started'; staging: string; resumedFrom: number; head: number }
  /** The staging tables were thrown away (`--fresh`, or the live tables changed shape): the replay starts from sequence 1. */
  | { type: 'restarted'; reason: string }
  /** The live tables could not be locked in time (long transactions on them): the swap is tried again shortly. */
  | { type: 'swap-postponed'; reason: string }
  | { type: 'swapped'; sequence: number };

export interface ReplayOptions<DB> {
  projection: ProjectionDefinition<DB>;
  store: EventStore;
  db: Kysely<DB>;
  /** Throw away what an interrupted replay built and start from sequence 1. */
  fresh?: boolean;
  /** Commits per transaction (and per fetch from the log). */
  batchSize?: number;
  /** Swap once at most this many commits are left: they are applied while the live tables are locked. */
  swapWithin?: number;
  /** How long the swap waits for each live table's lock before backing off (readers queue behind it meanwhile). */
  lockTimeoutMs?: number;
  /** Stops the replay after the batch in hand; it resumes from there when started again. */
  signal?: AbortSignal;
  onProgress?(progress: ReplayProgress): void;
  onStatus?(status: ReplayStatus): void;
}

export interface ReplayResult {
  /** The stream sequence the swapped-in tables reflect. */
  sequence: number;
  /** Where this run began: 0, or the sequence an interrupted replay had reached. */
  resumedFrom: number;
  /** Commits this run applied or parked. */
  applied: number;
  /** Commits the new read model has parked as dead letters. */
  parked: number;
}

/** Another process holds the projection's replay lock. */
export class ReplayAlreadyRunning extends Error {
  constructor(readonly projection: string) {
    super(`a replay of ${projection} is already running`);
    this.name = 'ReplayAlreadyRunning';
  }
}

/** Stopped through the signal; the staging tables keep what was applied. */
export class ReplayAborted extends Error {
  constructor(
    readonly projection: string,
    readonly sequence: number,
  ) {
    super(`the replay of ${projection} stopped at sequence ${sequence}; run it again to resume`);
    this.name = 'ReplayAborted';
  }
}

const DEFAULTS = { batchSize: 500, swapWithin: 500, lockTimeoutMs: 2_000 };
/** The swap holds the live tables locked at most this long; past it, it rolls back and is tried again. */
const SWAP_DEADLINE_MS = 10_000;
/** Postgres: statement_timeout fired. */
const QUERY_CANCELED = '57014';

class SwapDeadlineExceeded extends Error {
  constructor() {
    super(`the swap took longer than ${SWAP_DEADLINE_MS} ms`);
  }
}

/** `promise`, or SwapDeadlineExceeded once `deadline` passes (the log may not answer). */
async function beforeDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new SwapDeadlineExceeded()), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The items of `source` while `deadline` has not passed; the source is closed either way. */
async function* untilDeadline<T>(source: AsyncIterable<T>, deadline: number): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await beforeDeadline(iterator.next(), deadline);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    void iterator.return?.();
  }
}
const PROJECTOR_TABLES = ['checkpoints', 'dead_letters'];
const LOCK_NOT_AVAILABLE = '55P03';
const DEADLOCK_DETECTED = '40P01';

/** The schema a replay of `projection` builds its tables in: `<schema>_replay_<name>`, as a valid identifier. */
/** Whether a schema is a replay's staging schema (not a live one: tools leave it alone). */
export function isReplayStagingSchema(schema: string): boolean {
  return schema.includes(REPLAY_SCHEMA_MARK);
}

const REPLAY_SCHEMA_MARK = '_replay_';

export function replayStagingSchema(projection: Pick<ProjectionDefinition<unknown>, 'name' | 'schema'>): string {
  const name = `${projection.schema}${REPLAY_SCHEMA_MARK}${projection.name}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (name.length <= 63) return name;
  return `${name.slice(0, 54)}_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/**
 * Rebuilds a projection from sequence 1 into staging tables while the live projection keeps
 * serving, then swaps them in once caught up.
 *
 * - One replay per projection at a time: a session advisory lock, else {@link ReplayAlreadyRunning}.
 * - The staging schema holds structural copies of the live tables (from the catalog, original
 *   index and constraint names) and the replay's own checkpoint and dead letters. The projection's
 *   own `apply` writes there, its schema rewritten by {@link RewriteSchemaPlugin}; each batch and
 *   the checkpoint commit together, so a replay that is stopped or killed resumes where it was.
 * - A commit that cannot be applied is parked in the staging dead letters, and later commits of its
 *   aggregate wait behind it, as in `runProjection`.
 * - The swap: see {@link swap}.
 */
export async function replayProjection<DB>(options: ReplayOptions<DB>): Promise<ReplayResult> {
  const { projection, db } = options;
  const clash = projection.tables.filter((table) => PROJECTOR_TABLES.includes(table));
  if (clash.length > 0) throw new UnsupportedTablesError(clash.map((table) => `${projection.schema}.${table} is a projector table, not a projection's`));
  const key = createHash('sha256').update(`projection-replay:${projection.schema}:${projection.name}`).digest().readBigInt64BE(0);

  return db.connection().execute(async (session) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${key.toString()}::bigint) as locked`.execute(session);
    if (!rows[0]?.locked) throw new ReplayAlreadyRunning(projection.name);
    try {
      return await new Replay(options).run();
    } finally {
      await sql`select pg_advisory_unlock(${key.toString()}::bigint)`.execute(session).catch(() => undefined);
    }
  });
}

class Replay<DB> {
  private readonly projection: ProjectionDefinition<DB>;
  private readonly db: Kysely<DB>;
  private readonly staging: string;
  private readonly settings: typeof DEFAULTS;
  private readonly rewrite: RewriteSchemaPlugin;
  /** Aggregates with a parked commit in the staging tables, and the first such sequence. */
  private parked = new Map<string, number>();
  private applied = 0;
  private head = 0;
  private readonly rate = new Rate();

  constructor(private readonly options: ReplayOptions<DB>) {
    this.projection = options.projection;
    this.db = options.db;
    this.staging = replayStagingSchema(options.projection);
    this.settings = {
      batchSize: options.batchSize ?? DEFAULTS.batchSize,
      swapWithin: options.swapWithin ?? DEFAULTS.swapWithin,
      lockTimeoutMs: options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
    };
    this.rewrite = new RewriteSchemaPlugin({ from: options.projection.schema, to: this.staging, tables: options.projection.tables });
  }

  async run(): Promise<ReplayResult> {
    const { schema, tables } = this.projection;
    await assertReplayable(this.db, schema, tables);
    /** Why what an interrupted replay built must go, if it must. */
    let discard = this.options.fresh ? 'a fresh replay was asked for: the interrupted one is thrown away' : undefined;
    for (;;) {
      const resumedFrom = await this.prepareStaging(discard);
      this.parked = await this.loadParked();
      this.head = await this.options.store.head(this.projection.category);
      this.status({ type: 'started', staging: this.staging, resumedFrom, head: this.head });
      const outcome = await this.replayFrom(resumedFrom);
      if (outcome.type === 'swapped') {
        this.status({ type: 'swapped', sequence: outcome.sequence });
        return { sequence: outcome.sequence, resumedFrom, applied: this.applied, parked: outcome.parked };
      }
      discard = outcome.reason;
    }
  }

  /**
   * Creates the staging schema, or keeps an interrupted replay's if it still fits and is not to be
   * discarded; returns the sequence it had reached.
   */
  private async prepareStaging(discard: string | undefined): Promise<number> {
    const { schema, tables } = this.projection;
    const exists = async () => {
      const { rows } = await sql<{ exists: boolean }>`select exists (select 1 from pg_namespace where nspname = ${this.staging}) as exists`.execute(this.db);
      return rows[0]?.exists === true;
    };
    if (discard !== undefined && (await exists())) {
      this.status({ type: 'restarted', reason: discard });
      await sql`drop schema ${sql.id(this.staging)} cascade`.execute(this.db);
    }
    if (await exists()) {
      const difference = await this.db.transaction().execute((trx) => this.structureDifference(trx));
      if (difference === undefined) return this.stagingCheckpoint();
      this.status({ type: 'restarted', reason: `the live tables changed since the interrupted replay (${difference})` });
      await sql`drop schema ${sql.id(this.staging)} cascade`.execute(this.db);
    }
    await this.db.transaction().execute(async (trx) => {
      await sql`create schema ${sql.id(this.staging)}`.execute(trx);
      await createProjectorTablesV1(trx, this.staging);
      await copyTableStructure(trx, schema, this.staging, tables);
      const difference = await this.structureDifference(trx);
      if (difference !== undefined) throw new UnsupportedTablesError([`the staging copy of ${schema}'s tables differs from them: ${difference}`]);
    });
    return 0;
  }

  private async structureDifference(trx: Kysely<DB>): Promise<string | undefined> {
    const { schema, tables } = this.projection;
    const live = await describeTables(trx, schema, tables);
    const copy = await describeTables(trx, this.staging, tables);
    return difference(live, copy);
  }

  private async stagingCheckpoint(): Promise<number> {
    const { rows } = await sql<{ sequence: string }>`
      select sequence from ${sql.id(this.staging, 'checkpoints')}
      where projection = ${this.projection.name} and stream = ${this.projection.category}`.execute(this.db);
    return Number(rows[0]?.sequence ?? 0);
  }

  private async loadParked(): Promise<Map<string, number>> {
    const { rows } = await sql<{ aggregate_id: string; sequence: string }>`
      select aggregate_id, min(sequence) as sequence from ${sql.id(this.staging, 'dead_letters')}
      where projection = ${this.projection.name} group by aggregate_id`.execute(this.db);
    return new Map(rows.map((row) => [row.aggregate_id, Number(row.sequence)]));
  }

  private async replayFrom(
    from: number,
  ): Promise<{ type: 'swapped'; sequence: number; parked: number } | { type: 'changed'; reason: string }> {
    let sequence = from;
    let vacuumed = false;
    let postponed = 0;
    for (;;) {
      this.head = await this.options.store.head(this.projection.category);
      if (this.head - sequence > this.settings.swapWithin) {
        sequence = await this.catchUp(sequence, this.head);
        continue;
      }
      if (!vacuumed) {
        // Fresh tables have no statistics and no visibility map: the planner and index-only scans need both.
        for (const table of this.projection.tables) await sql`vacuum (analyze) ${sql.id(this.staging, table)}`.execute(this.db);
        vacuumed = true;
        continue;
      }
      this.throwIfAborted(sequence);
      const appliedBefore = this.applied;
      const outcome = await this.swap(sequence);
      if (outcome.type !== 'busy') return outcome;
      // What the postponed swap applied was rolled back with it.
      this.applied = appliedBefore;
      this.status({ type: 'swap-postponed', reason: outcome.reason });
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** postponed++, 5_000)));
    }
  }

  /** Applies the commits after `after` up to `to` into the staging tables, a batch per transaction. */
  private async catchUp(after: number, to: number): Promise<number> {
    let sequence = after;
    let batch: CategoryCommit[] = [];
    const staged = this.db.withPlugin(this.rewrite).withPlugin(new WithholdNotificationsPlugin());
    const flush = async () => {
      const parked = new Map<string, number>();
      try {
        await staged.transaction().execute((trx) => this.applyBatch(trx, batch, parked, false));
      } catch {
        // Again commit by commit, to park the ones that fail; an outage fails this attempt too.
        parked.clear();
        await staged.transaction().execute((trx) => this.applyBatch(trx, batch, parked, true));
      }
      for (const [id, first] of parked) if (!this.parked.has(id)) this.parked.set(id, first);
      sequence = batch.at(-1)?.sequence ?? sequence;
      this.progressed('replaying', batch, sequence);
      batch = [];
    };
    for await (const commit of this.options.store.readCategory(this.projection.category, after, { toSequence: to, batchSize: this.settings.batchSize })) {
      batch.push(commit);
      if (batch.length < this.settings.batchSize) continue;
      await flush();
      if (this.options.signal?.aborted) break;
    }
    if (batch.length > 0) await flush();
    this.throwIfAborted(sequence);
    return sequence;
  }

  /**
   * Applies `batch` and moves the staging checkpoint past it, in `trx`. Parks what cannot be
   * applied, and — `isolate` — each commit in a savepoint, so one that fails is parked, not fatal.
   */
  private async applyBatch(trx: Transaction<DB>, batch: CategoryCommit[], parked: Map<string, number>, isolate: boolean): Promise<void> {
    const deadLetters = sql.id(this.staging, 'dead_letters');
    const park = async (commit: CategoryCommit, error: string) => {
      await sql`
        insert into ${deadLetters} (projection, stream, sequence, aggregate_id, subject, payload, error, attempts)
        values (${this.projection.name}, ${this.projection.category}, ${commit.sequence}, ${commit.ref.id}, ${commit.subject},
                ${Buffer.from(commit.payload)}, ${error}, 1)
        on conflict (projection, stream, sequence) do nothing`.execute(trx);
      if (!parked.has(commit.ref.id)) parked.set(commit.ref.id, commit.sequence);
    };
    for (const commit of batch) {
      const blockedBy = this.parked.get(commit.ref.id) ?? parked.get(commit.ref.id);
      if (commit.commit === null) {
        await park(commit, `undecodable commit: ${commit.error}`);
      } else if (blockedBy !== undefined) {
        await park(commit, `waiting behind parked sequence ${blockedBy}`);
      } else if (!isolate) {
        await this.projection.apply(trx, commit.commit, commit.sequence);
      } else {
        await sql`savepoint replay_commit`.execute(trx);
        try {
          await this.projection.apply(trx, commit.commit, commit.sequence);
          await sql`release savepoint replay_commit`.execute(trx);
        } catch (error) {
          if (error instanceof UndeclaredTableError) throw error; // the definition is wrong, not the commit
          await sql`rollback to savepoint replay_commit`.execute(trx);
          await park(commit, `failed in replay: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
    const last = batch.at(-1)?.sequence;
    if (last === undefined) return;
    const checkpoints = sql.id(this.staging, 'checkpoints');
    await sql`
      insert into ${checkpoints} (projection, stream, sequence, updated_at) values (${this.projection.name}, ${this.projection.category}, ${last}, now())
      on conflict (projection, stream) do update set sequence = excluded.sequence, updated_at = now()`.execute(trx);
  }

  /**
   * Replaces the live tables with the staging ones, in one transaction:
   *
   * 1. LOCK the live schema's dead letters, then the projection's live tables, in ACCESS EXCLUSIVE
   *    mode. The live projection reads the dead letters before anything else in each transaction,
   *    so its transactions either finish before the swap holds the locks (their effects then come
   *    from commits at or below the head read next, which the tail below applies to the staging
   *    tables too) or wait for the swap without having read anything yet.
   * 2. Read the head H *after* the locks: every commit the live projection has applied is ≤ H.
   * 3. Apply the commits up to H to the staging tables (with their NOTIFYs, which go out when the
   *    new tables do).
   * 4. Replace the projection's dead letters up to H with the replay's (later ones are the live
   *    projection's, about commits the replay has not seen), DROP the live tables, move the staging
   *    tables into the live schema under the same names, raise the live checkpoint to H, drop the
   *    staging schema, COMMIT.
   *
   * A statement of the live projection (or the gateway) blocked on a lock of an old table then
   * gets that lock, sees the invalidation messages of the swap, looks the name up again and goes to
   * the new table: Postgres's RangeVarGetRelidExtended repeats name lookup and lock until the name
   * resolves to the relation it locked, and READ COMMITTED takes the statement's snapshot after
   * that. (A transaction that already held a lock on an old table never meets that case: the swap
   * waited for it.) The live projection carries on from its consumer position: commits ≤ H are
   * already in the new tables, and its version guards skip them; later ones apply on top. Nothing
   * is lost or applied twice. Lock waits are bounded by `lockTimeoutMs` (a deadlock with a live
   * transaction is broken by Postgres): the swap then rolls back, and is tried again later.
   */
  private async swap(
    from: number,
  ): Promise<{ type: 'swapped'; sequence: number; parked: number } | { type: 'changed'; reason: string } | { type: 'busy'; reason: string }> {
    const { schema, tables, name, category } = this.projection;
    const parked = new Map<string, number>();
    try {
      const outcome = await this.db.transaction().execute(async (trx) => {
        await sql`select set_config('lock_timeout', ${`${this.settings.lockTimeoutMs}ms`}, true)`.execute(trx);
        // Every statement under the locks is bounded too: readers of the live tables wait on them.
        await sql`select set_config('statement_timeout', ${`${SWAP_DEADLINE_MS}ms`}, true)`.execute(trx);
        const deadline = Date.now() + SWAP_DEADLINE_MS;
        await sql`lock table ${sql.id(schema, 'dead_letters')} in access exclusive mode`.execute(trx);
        await sql`lock table ${sql.join(tables.map((table) => sql.id(schema, table)))} in access exclusive mode`.execute(trx);
        const changed = await this.structureDifference(trx);
        if (changed !== undefined) return { type: 'changed' as const, reason: `the live tables changed during the replay (${changed})` };

        const head = await beforeDeadline(this.options.store.head(category), deadline);
        this.head = head;
        // The log may have grown while the locks were awaited: too long a tail goes back to catching up.
        if (head - from > this.settings.swapWithin * 2) return { type: 'busy' as const, reason: `${head - from} commits arrived meanwhile` };
        const staged = trx.withPlugin(this.rewrite);
        let batch: CategoryCommit[] = [];
        let sequence = from;
        const tail = this.options.store.readCategory(category, from, { toSequence: head, batchSize: this.settings.batchSize });
        for await (const commit of untilDeadline(tail, deadline)) {
          batch.push(commit);
          if (batch.length < this.settings.batchSize) continue;
          await this.applyBatch(staged, batch, parked, true);
          sequence = commit.sequence;
          this.progressed('swapping', batch, sequence);
          batch = [];
        }
        if (batch.length > 0) {
          await this.applyBatch(staged, batch, parked, true);
          this.progressed('swapping', batch, batch.at(-1)?.sequence ?? sequence);
        }

        const live = sql.id(schema, 'dead_letters');
        const replayed = sql.id(this.staging, 'dead_letters');
        await sql`delete from ${live} where projection = ${name} and sequence <= ${head}`.execute(trx);
        const moved = await sql`
          insert into ${live} (projection, stream, sequence, aggregate_id, subject, payload, error, attempts, parked_at)
          select projection, stream, sequence, aggregate_id, subject, payload, error, attempts, parked_at from ${replayed}
          where projection = ${name}
          on conflict (projection, stream, sequence) do nothing`.execute(trx);
        await sql`drop table ${sql.join(tables.map((table) => sql.id(schema, table)))}`.execute(trx);
        for (const table of tables) await sql`alter table ${sql.id(this.staging, table)} set schema ${sql.id(schema)}`.execute(trx);
        const checkpoints = sql.id(schema, 'checkpoints');
        await sql`
          insert into ${checkpoints} (projection, stream, sequence, updated_at) values (${name}, ${category}, ${head}, now())
          on conflict (projection, stream) do update set sequence = greatest(${checkpoints}.sequence, excluded.sequence), updated_at = now()`.execute(trx);
        await sql`drop schema ${sql.id(this.staging)} cascade`.execute(trx);
        return { type: 'swapped' as const, sequence: head, parked: Number(moved.numAffectedRows ?? 0) };
      });
      return outcome;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === LOCK_NOT_AVAILABLE || code === DEADLOCK_DETECTED || code === QUERY_CANCELED || error instanceof SwapDeadlineExceeded) {
        return { type: 'busy', reason: (error as Error).message };
      }
      throw error;
    }
  }

  private progressed(phase: ReplayProgress['phase'], batch: CategoryCommit[], sequence: number): void {
    this.applied += batch.length;
    const events = batch.reduce((sum, commit) => sum + (commit.commit?.events.length ?? 1), 0);
    this.rate.add(batch.length, events);
    const { commitsPerSecond, eventsPerSecond } = this.rate.perSecond();
    const left = Math.max(0, this.head - sequence);
    this.options.onProgress?.({
      phase,
      applied: this.applied,
      sequence,
      head: Math.max(this.head, sequence),
      commitsPerSecond,
      eventsPerSecond,
      etaSeconds: left === 0 ? 0 : commitsPerSecond > 0 ? left / commitsPerSecond : null,
    });
  }

  private throwIfAborted(sequence: number): void {
    if (this.options.signal?.aborted) throw new ReplayAborted(this.projection.name, sequence);
  }

  private status(status: ReplayStatus): void {
    this.options.onStatus?.(status);
  }
}

/** Throughput over a sliding window of the last few seconds. */
class Rate {
  private readonly samples: { at: number; commits: number; events: number }[] = [];
  private readonly startedAt = Date.now();

  constructor(private readonly windowMs = 5_000) {}

  add(commits: number, events: number): void {
    const now = Date.now();
    this.samples.push({ at: now, commits, events });
    while ((this.samples[0]?.at ?? now) < now - this.windowMs) this.samples.shift();
  }

  perSecond(): { commitsPerSecond: number; eventsPerSecond: number } {
    const now = Date.now();
    const seconds = Math.max(0.001, Math.min(this.windowMs, now - this.startedAt) / 1000);
    const sum = (key: 'commits' | 'events') => this.samples.reduce((total, sample) => total + sample[key], 0);
    return { commitsPerSecond: sum('commits') / seconds, eventsPerSecond: sum('events') / seconds };
  }
}

/** The first difference between two tables' structures, or undefined. */
function difference(expected: TableStructure[], actual: TableStructure[]): string | undefined {
  for (const [index, table] of expected.entries()) {
    const other = actual[index];
    for (const key of ['columns', 'constraints', 'indexes', 'comment', 'owner', 'privileges'] as const) {
      if (JSON.stringify(table[key]) !== JSON.stringify(other?.[key])) return `${key} of ${table.table}`;
    }
  }
  return undefined;
}
