import type { CommitMessage, EventCategory } from '@notebooks/contracts';
import { RetryLater, type DeliveredCommit, type EventStore, type PoisonMessage, type RunningConsumer } from '@notebooks/event-store';
import { sql, type Kysely, type Transaction } from 'kysely';

/** The projector tables of one schema (see createProjectorTablesV1). */
interface ProjectorTables {
  checkpoints: { projection: string; stream: string; sequence: string | number; updated_at: Date };
  dead_letters: {
    projection: string;
    stream: string;
    sequence: number;
    aggregate_id: string;
    subject: string;
    payload: Buffer;
    error: string;
    attempts: number;
  };
}

/**
 * The commit is ahead of the read model: an earlier one of its aggregate is still on its way (another
 * replica, a redelivery). It always passes, so it is retried soon and never parked.
 */
export class ProjectionGap extends RetryLater {
  constructor(aggregateId: string, expected: number, got: number) {
    super(`${aggregateId}: read model is at version ${expected - 1}, commit starts at ${got}`, 200);
    this.name = 'ProjectionGap';
  }
}

/**
 * The version guard every projection applies, given the version its row reflects: false for a
 * commit already applied (redelivery, replay), true for the next one, ProjectionGap for one ahead.
 */
export function shouldApply(commit: CommitMessage, currentVersion: number): boolean {
  const first = commit.events[0]?.version ?? 0;
  const last = commit.events.at(-1)?.version ?? 0;
  if (last <= currentVersion) return false;
  if (first !== currentVersion + 1) throw new ProjectionGap(commit.streamId, currentVersion + 1, first);
  return true;
}

/** What a projection is: run live by {@link runProjection}, rebuilt by `replayProjection`. */
/** Postgres: the transaction lost a deadlock, or a serialization conflict, to a concurrent one. */
const CONCURRENCY_CONFLICTS = new Set(['40P01', '40001']);

/**
 * Replicas apply batches concurrently, and two batches touching the same rows in different orders
 * (two users' activity, say) can deadlock; Postgres aborts one. That is a collision, not a fault of
 * the commits: it is retried shortly and never counts towards parking them.
 */
async function retryingConflicts(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && CONCURRENCY_CONFLICTS.has(code)) {
      throw new RetryLater(`concurrent batch conflict (${code}): ${(error as Error).message}`, 50 + Math.floor(Math.random() * 200));
    }
    throw error;
  }
}

export interface ProjectionDefinition<DB> {
  /** Name of the projection: its durable consumer, checkpoint and dead letters. */
  name: string;
  category: EventCategory;
  /** The Postgres schema holding this projection's tables and the projector tables. */
  schema: string;
  /**
   * The tables of `schema` this projection alone writes. A replay rebuilds exactly these and swaps
   * them in; foreign keys may connect them to each other, not to other tables.
   */
  tables: readonly string[];
  /**
   * Applies one commit inside the batch's transaction, naming its tables schema-qualified through
   * Kysely's query builder (`'read.notebooks'`: a replay redirects them to its staging schema).
   * Must be guarded by the aggregate's version: a commit already applied changes nothing, one that
   * is ahead throws {@link ProjectionGap}.
   */
  apply(trx: Transaction<DB>, commit: CommitMessage, sequence: number): Promise<void>;
}

export interface ProjectionOptions<DB> extends Omit<ProjectionDefinition<DB>, 'tables'> {
  store: EventStore;
  db: Kysely<DB>;
  batchSize?: number;
  ackWaitMs?: number;
  maxDeliver?: number;
  retryDelaysMs?: readonly number[];
  onError?(error: unknown): void;
}

export interface RunningProjection {
  lag(): Promise<{ pending: number; ackPending: number }>;
  /** Commits parked for this projection. */
  deadLetters(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Runs a projection on a durable consumer: each batch is applied and its checkpoint written in one
 * transaction, so a crash leaves either both or neither. A commit that cannot be applied is parked
 * in the dead-letter table, and so is every later commit of its aggregate (it would apply on top of
 * a hole); other aggregates flow on.
 */
export async function runProjection<DB>(options: ProjectionOptions<DB>): Promise<RunningProjection> {
  const db = options.db as unknown as Kysely<ProjectorTables>;
  const table = <T extends keyof ProjectorTables>(name: T) => sql.id(options.schema, name);
  const stream = options.category;

  /**
   * The first parked sequence of each of the batch's aggregates that has one, in one query. It must
   * stay the transaction's first statement: a replay's swap locks dead_letters to hold live batches
   * back before they have read anything (see replay.ts).
   */
  const parked = async (trx: Kysely<ProjectorTables>, aggregateIds: string[]): Promise<Map<string, number>> => {
    const { rows } = await sql<{ aggregate_id: string; sequence: string }>`
      select aggregate_id, min(sequence) as sequence from ${table('dead_letters')}
      where projection = ${options.name} and aggregate_id = any(${aggregateIds})
      group by aggregate_id`.execute(trx);
    return new Map(rows.map((row) => [row.aggregate_id, Number(row.sequence)]));
  };

  const park = async (trx: Kysely<ProjectorTables>, message: PoisonMessage): Promise<void> => {
    await sql`
      insert into ${table('dead_letters')} (projection, stream, sequence, aggregate_id, subject, payload, error, attempts)
      values (${options.name}, ${stream}, ${message.sequence}, ${message.aggregateId}, ${message.subject},
              ${Buffer.from(message.payload)}, ${message.error}, ${message.deliveryCount})
      on conflict (projection, stream, sequence) do nothing`.execute(trx);
  };

  const handle = (batch: DeliveredCommit[]) => retryingConflicts(() => applyBatch(batch));
  const applyBatch = async (batch: DeliveredCommit[]) => {
    await options.db.transaction().execute(async (trx) => {
      const projector = trx as unknown as Kysely<ProjectorTables>;
      // Parking below only adds later sequences, so the first parked one per aggregate stays valid.
      const blocked = await parked(projector, [...new Set(batch.map((delivered) => delivered.ref.id))]);
      for (const delivered of batch) {
        const blockedBy = blocked.get(delivered.ref.id);
        if (blockedBy !== undefined && blockedBy < delivered.sequence) {
          await park(projector, {
            category: options.category,
            sequence: delivered.sequence,
            subject: `${stream}.${delivered.ref.id}`,
            aggregateId: delivered.ref.id,
            payload: new TextEncoder().encode(JSON.stringify(delivered.commit)),
            error: `waiting behind parked sequence ${blockedBy}`,
            deliveryCount: delivered.deliveryCount,
          });
          continue;
        }
        await options.apply(trx, delivered.commit, delivered.sequence);
      }
      // The highest sequence seen: with replicas and retries, lower ones may still be on their way.
      // Exactly-once comes from the version guards, not from this mark.
      const last = Math.max(...batch.map((c) => c.sequence));
      await sql`
        insert into ${table('checkpoints')} (projection, stream, sequence, updated_at) values (${options.name}, ${stream}, ${last}, now())
        on conflict (projection, stream) do update
        set sequence = greatest(${table('checkpoints')}.sequence, excluded.sequence), updated_at = now()`.execute(projector);
    });
  };

  const consumer: RunningConsumer = await options.store.consume({
    category: options.category,
    name: options.name,
    batchSize: options.batchSize,
    // A batch is one short transaction: a replica that died holding one should not delay it long.
    ackWaitMs: options.ackWaitMs ?? 10_000,
    maxDeliver: options.maxDeliver,
    retryDelaysMs: options.retryDelaysMs,
    onError: options.onError,
    handle,
    onPoison: (message) => park(db, message),
  });

  return {
    lag: () => consumer.lag(),
    deadLetters: async () => {
      const { rows } = await sql<{ count: string }>`
        select count(*) as count from ${table('dead_letters')} where projection = ${options.name}`.execute(db);
      return Number(rows[0]?.count ?? 0);
    },
    stop: () => consumer.stop(),
  };
}
