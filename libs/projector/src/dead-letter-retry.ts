import { Logger } from '@nestjs/common';
import {
  CommitMessage,
  retryDeadLettersSubject,
  RetryDeadLettersRequest,
  type RetriedCommit,
  type RetryDeadLettersReply,
} from '@notebooks/contracts';
import { RpcException, type NatsRpc } from '@notebooks/platform';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { ProjectionDefinition } from './projector';

/** What a retry needs of a projection: where its dead letters are and how it applies a commit. */
export type RetryableProjection<DB> = Pick<ProjectionDefinition<DB>, 'name' | 'category' | 'schema' | 'apply'>;

/**
 * Answers `npm run ops -- dead-letters retry` for each of a service's projections, on a subject of
 * each projection's own, so the service that runs a projection is the one that retries it.
 */
export function serveDeadLetterRetry<DB>(rpc: NatsRpc, db: Kysely<DB>, projections: readonly RetryableProjection<DB>[]): void {
  const retry = new DeadLetterRetry(db, projections);
  for (const projection of projections) {
    rpc.serve(retryDeadLettersSubject(projection.name), RetryDeadLettersRequest, (request) => retry.retry(request));
  }
}

interface ParkedRow {
  id: string;
  sequence: string;
  aggregate_id: string;
  payload: Buffer;
}

/**
 * Re-applies parked commits with the projection's own apply function: oldest first per aggregate,
 * one transaction per aggregate, each commit under a savepoint. A commit that applies (or already
 * had: apply is version-guarded) leaves the dead-letter table; one that fails again stays with the
 * new error and one more attempt, and the later commits of its aggregate keep waiting behind it.
 */
export class DeadLetterRetry<DB> {
  private readonly logger = new Logger(DeadLetterRetry.name);

  constructor(
    private readonly db: Kysely<DB>,
    private readonly projections: readonly RetryableProjection<DB>[],
  ) {}

  async retry(request: RetryDeadLettersRequest): Promise<RetryDeadLettersReply> {
    const projection = this.projections.find((p) => p.name === request.projection);
    if (!projection) {
      throw new RpcException('NOT_FOUND', `no projection named ${request.projection}; known: ${this.projections.map((p) => p.name).join(', ')}`);
    }
    const deadLetters = sql.id(projection.schema, 'dead_letters');
    const wanted = request.sequences ? new Set(request.sequences) : undefined;
    const { rows: selected } = await sql<{ aggregate_id: string }>`
      select aggregate_id, min(sequence) as first from ${deadLetters}
      where projection = ${projection.name} and stream = ${projection.category}
        ${request.sequences ? sql`and sequence = any(${request.sequences}::bigint[])` : sql``}
      group by aggregate_id order by first`.execute(this.db);

    const commits: RetriedCommit[] = [];
    for (const { aggregate_id: aggregateId } of selected) {
      commits.push(...(await this.db.transaction().execute((trx) => this.retryAggregate(trx, projection, aggregateId, wanted))));
    }
    commits.sort((a, b) => a.sequence - b.sequence);
    const applied = commits.filter((c) => c.outcome === 'applied').length;
    const reply = { projection: projection.name, applied, stillParked: commits.length - applied, commits };
    this.logger.log(`retried ${commits.length} parked commit(s) of ${projection.name}: ${applied} applied, ${reply.stillParked} still parked`);
    return reply;
  }

  private async retryAggregate(
    trx: Transaction<DB>,
    projection: RetryableProjection<DB>,
    aggregateId: string,
    wanted: ReadonlySet<number> | undefined,
  ): Promise<RetriedCommit[]> {
    const deadLetters = sql.id(projection.schema, 'dead_letters');
    // Every parked commit of the aggregate, selected or not: an earlier one keeps the later ones waiting.
    const { rows } = await sql<ParkedRow>`
      select id::text as id, sequence::text as sequence, aggregate_id, payload from ${deadLetters}
      where projection = ${projection.name} and stream = ${projection.category} and aggregate_id = ${aggregateId}
      order by sequence for update`.execute(trx);

    const outcomes: RetriedCommit[] = [];
    let blockedBy: number | undefined;
    for (const row of rows) {
      const sequence = Number(row.sequence);
      if (wanted && !wanted.has(sequence)) {
        blockedBy ??= sequence;
        continue;
      }
      if (blockedBy !== undefined) {
        outcomes.push({ sequence, aggregateId, outcome: 'waiting', error: `waiting behind parked sequence ${blockedBy}` });
        continue;
      }
      const error = await this.applyOne(trx, projection, row.payload, sequence);
      if (error === undefined) {
        await sql`delete from ${deadLetters} where id = ${row.id}`.execute(trx);
        outcomes.push({ sequence, aggregateId, outcome: 'applied' });
      } else {
        await sql`update ${deadLetters} set error = ${error}, attempts = attempts + 1 where id = ${row.id}`.execute(trx);
        outcomes.push({ sequence, aggregateId, outcome: 'failed', error });
        blockedBy = sequence;
      }
    }
    return outcomes;
  }

  /** Applies one parked commit under a savepoint; answers the error when it fails (its effects undone). */
  private async applyOne(trx: Transaction<DB>, projection: RetryableProjection<DB>, payload: Buffer, sequence: number): Promise<string | undefined> {
    const commit = decode(payload);
    if (typeof commit === 'string') return `undecodable commit: ${commit}`;
    await sql`savepoint retry_commit`.execute(trx);
    try {
      await projection.apply(trx, commit, sequence);
      await sql`release savepoint retry_commit`.execute(trx);
      return undefined;
    } catch (error) {
      await sql`rollback to savepoint retry_commit`.execute(trx);
      return `failed on retry: ${describe(error)}`;
    }
  }
}

/** The commit, or why the payload is not one. */
function decode(payload: Buffer): CommitMessage | string {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    return describe(error);
  }
  const parsed = CommitMessage.safeParse(json);
  return parsed.success ? parsed.data : parsed.error.issues.map((issue) => `${issue.path.join('.') || 'commit'}: ${issue.message}`).join('; ');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
