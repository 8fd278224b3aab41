import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommitMessage, type ReadModelTables, type RetriedCommit, type RetryDeadLettersReply, type RetryDeadLettersRequest } from '@notebooks/contracts';
import { DATABASE, RpcException } from '@notebooks/platform';
import type { ProjectionDefinition } from '@notebooks/projector';
import { sql, type Kysely, type Transaction } from 'kysely';

/** What a retry needs of a projection: where its dead letters are and how it applies a commit. */
export type RetryableProjection = Pick<ProjectionDefinition<ReadModelTables>, 'name' | 'category' | 'schema' | 'apply'>;
export const RETRYABLE_PROJECTIONS = Symbol('RETRYABLE_PROJECTIONS');

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
@Injectable()
export class DeadLetterRetry {
  private readonly logger = new Logger(DeadLetterRetry.name);

  constructor(
    @Inject(DATABASE) private readonly db: Kysely<ReadModelTables>,
    @Inject(RETRYABLE_PROJECTIONS) private readonly projections: readonly RetryableProjection[],
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
    trx: Transaction<ReadModelTables>,
    projection: RetryableProjection,
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
  private async applyOne(trx: Transaction<ReadModelTables>, projection: RetryableProjection, payload: Buffer, sequence: number): Promise<string | undefined> {
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
