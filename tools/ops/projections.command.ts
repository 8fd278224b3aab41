import { isReplayStagingSchema } from '@notebooks/projector';
import type { Connections } from './connections';
import type { OpsContext } from './context';
import { consumerInfo, streamInfo, streamOf } from './jetstream';
import { ago, count, describeError, paint, table, type Output } from './output';

export interface ProjectionStatus {
  schema: string;
  projection: string;
  /** The checkpoint's stream column: the event category (`notebooks`). */
  stream: string;
  /** The JetStream stream it reads. */
  streamName: string;
  /** Highest stream sequence applied; null before the first batch. */
  checkpoint: number | null;
  /** Last sequence on the stream; null when unknown. */
  head: number | null;
  /** Commits its durable consumer has not had acknowledged yet (pending + ack pending); null when unknown. */
  lag: { pending: number; ackPending: number; total: number } | null;
  consumer: 'ok' | 'missing' | 'unknown';
  deadLetters: number;
  lastParkedAt: string | null;
  updatedAt: string | null;
}

export interface ProjectionsReport {
  projections: ProjectionStatus[];
  /** Why stream heads and lag are unknown (NATS unreachable), if they are. */
  natsError?: string;
}

/** Schemas holding projector tables (a `checkpoints` table with a `projection` column), replays' staging schemas left out. */
export async function projectorSchemas(connections: Connections): Promise<{ schema: string; hasDeadLetters: boolean }[]> {
  const rows = await connections.query<{ schema: string; tables: string[] }>(
    `select table_schema as schema, array_agg(distinct table_name::text) as tables
       from information_schema.columns
      where table_name in ('checkpoints', 'dead_letters') and column_name = 'projection'
      group by table_schema
     having bool_or(table_name = 'checkpoints')
      order by table_schema`,
  );
  return rows.filter((row) => !isReplayStagingSchema(row.schema)).map((row) => ({ schema: row.schema, hasDeadLetters: row.tables.includes('dead_letters') }));
}

export async function readProjections(connections: Connections): Promise<ProjectionsReport> {
  const projections: ProjectionStatus[] = [];
  for (const { schema, hasDeadLetters } of await projectorSchemas(connections)) {
    const s = escapeIdentifier(schema);
    const deadLetters = hasDeadLetters
      ? `select projection, stream, count(*)::int as dead_letters, max(parked_at) as last_parked from ${s}.dead_letters group by 1, 2`
      : `select null::text as projection, null::text as stream, 0 as dead_letters, null::timestamptz as last_parked where false`;
    const rows = await connections.query<{
      projection: string;
      stream: string;
      sequence: string | null;
      updated_at: Date | null;
      dead_letters: number | null;
      last_parked: Date | null;
    }>(
      `with letters as (${deadLetters})
       select coalesce(c.projection, l.projection) as projection, coalesce(c.stream, l.stream) as stream,
              c.sequence::text as sequence, c.updated_at, l.dead_letters, l.last_parked
         from ${s}.checkpoints c full join letters l on l.projection = c.projection and l.stream = c.stream
        order by 1, 2`,
    );
    for (const row of rows) {
      projections.push({
        schema,
        projection: row.projection,
        stream: row.stream,
        streamName: streamOf(connections.target.namespace, row.stream),
        checkpoint: row.sequence === null ? null : Number(row.sequence),
        head: null,
        lag: null,
        consumer: 'unknown',
        deadLetters: row.dead_letters ?? 0,
        lastParkedAt: row.last_parked?.toISOString() ?? null,
        updatedAt: row.updated_at?.toISOString() ?? null,
      });
    }
  }
  try {
    const heads = new Map<string, number | null>();
    for (const name of new Set(projections.map((p) => p.streamName))) heads.set(name, (await streamInfo(connections, name))?.state.last_seq ?? null);
    for (const projection of projections) {
      projection.head = heads.get(projection.streamName) ?? null;
      const consumer = await consumerInfo(connections, projection.streamName, projection.projection);
      projection.consumer = consumer ? 'ok' : 'missing';
      if (consumer) {
        projection.lag = { pending: consumer.num_pending, ackPending: consumer.num_ack_pending, total: consumer.num_pending + consumer.num_ack_pending };
      }
    }
    return { projections };
  } catch (error) {
    return { projections, natsError: describeError(error) };
  }
}

export function renderProjections(output: Output, report: ProjectionsReport): string {
  if (report.projections.length === 0) return 'no projections yet (no schema has a checkpoints table)';
  const rows = report.projections.map((p) => [
    p.projection,
    p.schema,
    p.stream,
    count(p.checkpoint ?? undefined),
    p.head === null ? '?' : count(p.head),
    p.lag ? paint(output, p.lag.total > 0 ? 'yellow' : 'green', count(p.lag.total)) : p.consumer === 'missing' ? paint(output, 'red', 'no consumer') : '?',
    p.deadLetters > 0 ? paint(output, 'red', count(p.deadLetters)) : '0',
    ago(p.updatedAt),
  ]);
  const lines = [
    table(output, ['PROJECTION', 'SCHEMA', 'STREAM', 'CHECKPOINT', 'HEAD', 'LAG', 'DEAD LETTERS', 'UPDATED'], rows, [
      'left', 'left', 'left', 'right', 'right', 'right', 'right', 'left',
    ]),
  ];
  if (report.natsError) lines.push(paint(output, 'red', `stream heads and lag unknown: ${report.natsError}`));
  return lines.join('\n');
}

export async function projectionsCommand(context: OpsContext): Promise<number> {
  const report = await readProjections(context.connections);
  if (context.output.json) context.output.line(JSON.stringify(report, null, 2));
  else context.output.line(renderProjections(context.output, report));
  return report.natsError ? 69 : 0;
}

/** A schema name as a quoted identifier (names come from information_schema, still quoted to be safe). */
export function escapeIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
