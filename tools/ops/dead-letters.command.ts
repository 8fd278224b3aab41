import { NoRespondersError, TimeoutError } from '@nats-io/transport-node';
import { qualifySubject, retryDeadLettersSubject, RetryDeadLettersReply, RpcReply, type RetryDeadLettersRequest } from '@notebooks/contracts';
import type { Connections } from './connections';
import { OpsError, Unreachable, UsageError } from './errors';
import type { OpsContext } from './context';
import { escapeIdentifier, projectorSchemas } from './projections.command';
import { ago, paint, table, truncate, type Output } from './output';

export interface DeadLetter {
  schema: string;
  id: number;
  projection: string;
  stream: string;
  sequence: number;
  aggregateId: string;
  subject: string;
  error: string;
  attempts: number;
  parkedAt: string;
  /** The parked message as text (what the projection could not apply). */
  payload: string;
}

/** Which parked commits an action is about. Several criteria narrow each other down. */
export interface DeadLetterSelection {
  projection?: string;
  ids?: number[];
  sequences?: number[];
  aggregate?: string;
  all?: boolean;
}

interface DeadLetterRow {
  id: string;
  projection: string;
  stream: string;
  sequence: string;
  aggregate_id: string;
  subject: string;
  error: string;
  attempts: number;
  parked_at: Date;
  payload: Buffer;
}

const COLUMNS = 'id::text, projection, stream, sequence::text, aggregate_id, subject, error, attempts, parked_at, payload';

function where(selection: DeadLetterSelection): { clause: string; values: unknown[] } {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const add = (condition: (parameter: string) => string, value: unknown) => {
    values.push(value);
    conditions.push(condition(`$${values.length}`));
  };
  if (selection.projection) add((p) => `projection = ${p}`, selection.projection);
  if (selection.ids?.length) add((p) => `id = any(${p}::bigint[])`, selection.ids);
  if (selection.sequences?.length) add((p) => `sequence = any(${p}::bigint[])`, selection.sequences);
  if (selection.aggregate) add((p) => `aggregate_id = ${p}`, selection.aggregate);
  return { clause: conditions.length ? `where ${conditions.join(' and ')}` : '', values };
}

function toDeadLetter(schema: string, row: DeadLetterRow): DeadLetter {
  return {
    schema,
    id: Number(row.id),
    projection: row.projection,
    stream: row.stream,
    sequence: Number(row.sequence),
    aggregateId: row.aggregate_id,
    subject: row.subject,
    error: row.error,
    attempts: row.attempts,
    parkedAt: row.parked_at.toISOString(),
    payload: row.payload.toString('utf8'),
  };
}

async function deadLetterSchemas(connections: Connections): Promise<string[]> {
  return (await projectorSchemas(connections)).filter((s) => s.hasDeadLetters).map((s) => s.schema);
}

/** Parked commits matching `selection`, oldest first per projection, in every projector schema. */
export async function listDeadLetters(connections: Connections, selection: DeadLetterSelection, limit = 1_000): Promise<{ letters: DeadLetter[]; total: number }> {
  const letters: DeadLetter[] = [];
  let total = 0;
  for (const schema of await deadLetterSchemas(connections)) {
    const { clause, values } = where(selection);
    const table = `${escapeIdentifier(schema)}.dead_letters`;
    const [counted] = await connections.query<{ count: number }>(`select count(*)::int as count from ${table} ${clause}`, values);
    total += counted?.count ?? 0;
    const rows = await connections.query<DeadLetterRow>(
      `select ${COLUMNS} from ${table} ${clause} order by projection, sequence limit ${Math.max(0, limit - letters.length)}`,
      values,
    );
    letters.push(...rows.map((row) => toDeadLetter(schema, row)));
  }
  return { letters, total };
}

function renderLetters(output: Output, letters: DeadLetter[]): string {
  return table(
    output,
    ['ID', 'PROJECTION', 'SEQUENCE', 'AGGREGATE', 'ATTEMPTS', 'PARKED', 'ERROR'],
    letters.map((l) => [l.id, l.projection, l.sequence, l.aggregateId, l.attempts, ago(l.parkedAt), truncate(l.error, 80)]),
    ['right', 'left', 'right', 'left', 'right', 'left', 'left'],
  );
}

export async function listCommand(context: OpsContext, selection: DeadLetterSelection, limit: number): Promise<number> {
  const { letters, total } = await listDeadLetters(context.connections, selection, limit);
  const { output } = context;
  if (output.json) {
    output.line(JSON.stringify({ total, deadLetters: letters }, null, 2));
    return 0;
  }
  if (letters.length === 0) {
    output.line(selection.projection || selection.aggregate ? 'no parked commits match' : 'no parked commits');
    return 0;
  }
  output.line(renderLetters(output, letters));
  if (total > letters.length) output.line(paint(output, 'dim', `showing ${letters.length} of ${total} (--limit to see more)`));
  return 0;
}

/** Deletes the selected parked commits; the selection must be explicit. */
export async function discardCommand(context: OpsContext, selection: DeadLetterSelection): Promise<number> {
  requireExplicitSelection('discard', selection);
  const { connections, output } = context;
  await resolveAmbiguousIds(connections, selection);
  const discarded: DeadLetter[] = [];
  const stillParked: { projection: string; aggregateId: string; count: number }[] = [];
  for (const schema of await deadLetterSchemas(connections)) {
    const table = `${escapeIdentifier(schema)}.dead_letters`;
    const { clause, values } = where(selection);
    await connections.transaction(async (query) => {
      const rows = await query<DeadLetterRow>(`delete from ${table} ${clause} returning ${COLUMNS}`, values);
      discarded.push(...rows.map((row) => toDeadLetter(schema, row)));
      const aggregates = [...new Map(rows.map((row) => [`${row.projection}/${row.aggregate_id}`, row])).values()];
      if (aggregates.length === 0) return;
      const left = await query<{ projection: string; aggregate_id: string; count: number }>(
        `select projection, aggregate_id, count(*)::int as count from ${table}
          where (projection, aggregate_id) in (select * from unnest($1::text[], $2::text[]))
          group by 1, 2 order by 1, 2`,
        [aggregates.map((row) => row.projection), aggregates.map((row) => row.aggregate_id)],
      );
      stillParked.push(...left.map((row) => ({ projection: row.projection, aggregateId: row.aggregate_id, count: row.count })));
    });
  }
  discarded.sort((a, b) => a.projection.localeCompare(b.projection) || a.sequence - b.sequence);
  const missing = missingSelections(selection, discarded);
  if (output.json) {
    output.line(JSON.stringify({ discarded, stillParked, missing }, null, 2));
  } else {
    if (discarded.length === 0) output.line('nothing discarded: no parked commit matches');
    else {
      output.line(`discarded ${discarded.length} parked commit${discarded.length === 1 ? '' : 's'}:`);
      output.line(renderLetters(output, discarded));
    }
    for (const left of stillParked) {
      output.line(
        paint(output, 'yellow', `${left.projection}: aggregate ${left.aggregateId} still has ${left.count} parked commit(s); retry or discard them too`),
      );
    }
    if (missing.length) output.error(`not found: ${missing.join(', ')}`);
  }
  return missing.length ? 1 : 0;
}

/** Asks the service running each projection to re-apply its selected parked commits. */
export async function retryCommand(context: OpsContext, selection: DeadLetterSelection, timeoutMs: number): Promise<number> {
  const { connections, output } = context;
  if (!selection.projection && !selection.all) throw new UsageError('retry needs --projection <name> (or --all for every projection with parked commits)');
  if (selection.sequences?.length && !selection.projection) throw new UsageError('--sequence needs --projection');
  const narrowed = Boolean(selection.ids?.length || selection.sequences?.length || selection.aggregate);
  const { letters } = await listDeadLetters(connections, selection, 10_000);
  const projections = selection.projection ? [selection.projection] : [...new Set(letters.map((l) => l.projection))];
  if (projections.length === 0 || (narrowed && letters.length === 0)) {
    if (output.json) output.line(JSON.stringify({ results: [] }, null, 2));
    else output.line('nothing to retry: no parked commit matches');
    return narrowed ? 1 : 0;
  }
  const results: RetryDeadLettersReply[] = [];
  for (const projection of projections) {
    const sequences = narrowed ? letters.filter((l) => l.projection === projection).map((l) => l.sequence) : undefined;
    results.push(await requestRetry(connections, { projection, ...(sequences && { sequences }) }, timeoutMs));
  }
  if (output.json) output.line(JSON.stringify({ results }, null, 2));
  else {
    for (const result of results) {
      const summary = `${result.projection}: ${result.applied} applied, ${result.stillParked} still parked`;
      output.line(paint(output, result.stillParked ? 'yellow' : 'green', summary));
      if (result.commits.length) {
        output.line(
          table(
            output,
            ['SEQUENCE', 'AGGREGATE', 'OUTCOME', 'ERROR'],
            result.commits.map((c) => [c.sequence, c.aggregateId, paint(output, c.outcome === 'applied' ? 'green' : 'red', c.outcome), truncate(c.error ?? '', 80)]),
            ['right', 'left', 'left', 'left'],
          ),
        );
      }
    }
  }
  return results.some((r) => r.stillParked > 0) ? 1 : 0;
}

async function requestRetry(connections: Connections, request: RetryDeadLettersRequest, timeoutMs: number): Promise<RetryDeadLettersReply> {
  const nc = await connections.nats();
  const subject = qualifySubject(connections.target.namespace, retryDeadLettersSubject(request.projection));
  let data: Uint8Array;
  try {
    data = (await nc.request(subject, JSON.stringify(request), { timeout: timeoutMs })).data;
  } catch (error) {
    if (error instanceof NoRespondersError || (error as Error).cause instanceof NoRespondersError) {
      throw new Unreachable(`nothing answers on ${subject}: is the service running ${request.projection} up (with NATS_NAMESPACE "${connections.target.namespace}")?`);
    }
    if (error instanceof TimeoutError || (error as Error).cause instanceof TimeoutError) {
      throw new OpsError(`the service running ${request.projection} did not answer within ${timeoutMs / 1000} s (--timeout to wait longer); the retry may still be running`);
    }
    throw new Unreachable(`the retry request failed: ${(error as Error).message}`);
  }
  const reply = RpcReply.safeParse(JSON.parse(new TextDecoder().decode(data)));
  if (!reply.success) throw new OpsError(`${subject} was answered with something unexpected`);
  if (!reply.data.ok) throw new OpsError(`the retry of ${request.projection} was refused: ${reply.data.error.code}: ${reply.data.error.message}`);
  const parsed = RetryDeadLettersReply.safeParse(reply.data.data);
  if (!parsed.success) throw new OpsError(`${subject} was answered with something unexpected`);
  return parsed.data;
}

function requireExplicitSelection(action: string, selection: DeadLetterSelection): void {
  const specific = Boolean(selection.ids?.length || selection.sequences?.length || selection.aggregate);
  if (!specific && !selection.all) {
    throw new UsageError(`${action} needs an explicit selection: --id, --sequence (with --projection), --aggregate, or --all`);
  }
  if (selection.all && (selection.ids?.length || selection.sequences?.length)) throw new UsageError('--all cannot be combined with --id or --sequence');
  if (selection.sequences?.length && !selection.projection) throw new UsageError('--sequence needs --projection');
}

/** Ids are per schema: refuse one that names rows in several schemas unless --projection narrows it. */
async function resolveAmbiguousIds(connections: Connections, selection: DeadLetterSelection): Promise<void> {
  if (!selection.ids?.length || selection.projection) return;
  const { letters } = await listDeadLetters(connections, { ids: selection.ids }, 10_000);
  const seen = new Map<number, Set<string>>();
  for (const letter of letters) seen.set(letter.id, (seen.get(letter.id) ?? new Set()).add(letter.schema));
  const ambiguous = [...seen].filter(([, schemas]) => schemas.size > 1).map(([id]) => id);
  if (ambiguous.length) throw new UsageError(`id ${ambiguous.join(', ')} names parked commits of several projections; add --projection`);
}

function missingSelections(selection: DeadLetterSelection, found: DeadLetter[]): string[] {
  const missing = [
    ...(selection.ids ?? []).filter((id) => !found.some((l) => l.id === id)).map((id) => `id ${id}`),
    ...(selection.sequences ?? []).filter((sequence) => !found.some((l) => l.sequence === sequence)).map((sequence) => `sequence ${sequence}`),
  ];
  return missing;
}
