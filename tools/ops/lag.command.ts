import type { Connections } from './connections';
import type { OpsContext } from './context';
import { durableConsumers, eventStreams, streamInfo, unqualified } from './jetstream';
import { ago, count, paint, table, type Output } from './output';

export interface ConsumerLag {
  stream: string;
  consumer: string;
  /** Messages not yet delivered. */
  pending: number;
  /** Delivered, not yet acknowledged. */
  ackPending: number;
  /** Delivered more than once and not yet acknowledged. */
  redelivered: number;
  /** Stream sequence delivered last. */
  delivered: number;
  lastActive: string | null;
}

export interface LagReport {
  consumers: ConsumerLag[];
  /** Event streams that do not exist (yet). */
  missingStreams: string[];
}

/** Every durable consumer of the event log's streams. */
export async function readLag(connections: Connections): Promise<LagReport> {
  const consumers: ConsumerLag[] = [];
  const missingStreams: string[] = [];
  for (const { name } of eventStreams(connections.target.namespace)) {
    if (!(await streamInfo(connections, name))) {
      missingStreams.push(name);
      continue;
    }
    for (const info of await durableConsumers(connections, name)) {
      consumers.push({
        stream: name,
        consumer: unqualified(connections.target.namespace, info.name),
        pending: info.num_pending,
        ackPending: info.num_ack_pending,
        redelivered: info.num_redelivered,
        delivered: info.delivered.stream_seq,
        lastActive: timestamp(info.delivered.last_active),
      });
    }
  }
  return { consumers, missingStreams };
}

/** The server sends RFC 3339 times where the client's types say nanoseconds. */
function timestamp(value: unknown): string | null {
  if (typeof value === 'string' && !value.startsWith('0001-')) return value;
  return null;
}

export function renderLag(output: Output, report: LagReport): string {
  const lines: string[] = [];
  if (report.consumers.length === 0) lines.push('no durable consumers');
  else {
    const rows = report.consumers.map((c) => [
      c.stream,
      c.consumer,
      c.pending > 0 ? paint(output, 'yellow', count(c.pending)) : '0',
      count(c.ackPending),
      c.redelivered > 0 ? paint(output, 'yellow', count(c.redelivered)) : '0',
      count(c.delivered),
      ago(c.lastActive),
    ]);
    lines.push(
      table(output, ['STREAM', 'CONSUMER', 'PENDING', 'ACK PENDING', 'REDELIVERED', 'DELIVERED SEQ', 'LAST ACTIVE'], rows, [
        'left', 'left', 'right', 'right', 'right', 'right', 'left',
      ]),
    );
  }
  if (report.missingStreams.length) lines.push(paint(output, 'yellow', `streams not created yet: ${report.missingStreams.join(', ')}`));
  return lines.join('\n');
}

export async function lagCommand(context: OpsContext): Promise<number> {
  const report = await readLag(context.connections);
  if (context.output.json) context.output.line(JSON.stringify(report, null, 2));
  else context.output.line(renderLag(context.output, report));
  return 0;
}
