import type { OpsContext } from './context';
import { UsageError } from './errors';
import { count, describeError, paint, table, type Output } from './output';
import { histograms, parseExposition, quantile, type Exposition } from './prometheus';

/** Labels merged away: one route's latency whatever it answered. */
const MERGED_LABELS = ['status', 'outcome'];
const PROCESS_FIGURES: Record<string, { label: string; format: (value: number) => string }> = {
  process_resident_memory_bytes: { label: 'resident memory', format: (v) => `${(v / 2 ** 20).toFixed(1)} MiB` },
  nodejs_eventloop_lag_p99_seconds: { label: 'event loop lag p99', format: (v) => `${(v * 1000).toFixed(1)} ms` },
  process_cpu_seconds_total: { label: 'cpu time', format: (v) => `${v.toFixed(1)} s` },
  process_start_time_seconds: { label: 'started', format: (v) => new Date(v * 1000).toISOString() },
};

export interface ServiceFigures {
  service: string;
  url: string;
  error?: string;
  latency: { metric: string; labels: Record<string, string>; count: number; p50Ms?: number; p90Ms?: number; p99Ms?: number }[];
  /** projection_* gauges, e.g. projection_pending_commits and projection_dead_letters per projection. */
  projections: { metric: string; labels: Record<string, string>; value: number }[];
  process: Record<string, number>;
}

export function figuresOf(service: string, url: string, exposition: Exposition): ServiceFigures {
  const ms = (seconds: number | undefined) => (seconds === undefined ? undefined : Math.round(seconds * 10_000) / 10);
  const latency = histograms(exposition, MERGED_LABELS)
    .filter((h) => h.name.endsWith('_duration_seconds') && !/^(nodejs|process)_/.test(h.name) && h.count > 0)
    .map((h) => ({ metric: h.name, labels: h.labels, count: h.count, p50Ms: ms(quantile(h, 0.5)), p90Ms: ms(quantile(h, 0.9)), p99Ms: ms(quantile(h, 0.99)) }))
    .sort((a, b) => a.metric.localeCompare(b.metric) || b.count - a.count);
  const projections = exposition.samples
    .filter((s) => s.name.startsWith('projection_'))
    .map((s) => ({ metric: s.name, labels: s.labels, value: s.value }));
  const process = Object.fromEntries(exposition.samples.filter((s) => s.name in PROCESS_FIGURES).map((s) => [s.name, s.value]));
  return { service, url, latency, projections, process };
}

async function fetchFigures(service: string, url: string): Promise<ServiceFigures> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return figuresOf(service, url, parseExposition(await response.text()));
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const reason = cause?.code === 'ECONNREFUSED' ? 'connection refused (not running?)' : describeError(error);
    return { service, url, error: `${url}/metrics unreachable: ${reason}`, latency: [], projections: [], process: {} };
  }
}

function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

export function renderFigures(output: Output, figures: ServiceFigures): string {
  const lines = [paint(output, 'bold', `${figures.service}  ${paint(output, 'dim', figures.url)}`)];
  if (figures.error) return [...lines, paint(output, 'red', `  ${figures.error}`)].join('\n');
  const process = Object.entries(PROCESS_FIGURES)
    .filter(([name]) => figures.process[name] !== undefined)
    .map(([name, { label, format }]) => `${label} ${format(figures.process[name] ?? 0)}`);
  if (process.length) lines.push(`  ${process.join(', ')}`);
  if (figures.latency.length) {
    const rows = figures.latency.map((l) => [l.metric.replace(/_duration_seconds$/, ''), labelsText(l.labels), count(l.count), ...[l.p50Ms, l.p90Ms, l.p99Ms].map((v) => (v === undefined ? '-' : v.toFixed(1)))]);
    lines.push(indent(table(output, ['LATENCY', 'LABELS', 'COUNT', 'P50 MS', 'P90 MS', 'P99 MS'], rows, ['left', 'left', 'right', 'right', 'right', 'right'])));
  } else lines.push('  no requests measured yet');
  if (figures.projections.length) {
    const rows = figures.projections.map((p) => [p.metric, labelsText(p.labels), count(p.value)]);
    lines.push(indent(table(output, ['GAUGE', 'LABELS', 'VALUE'], rows, ['left', 'left', 'right'])));
  }
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

export async function metricsCommand(context: OpsContext, service: string | undefined): Promise<number> {
  const known = context.target.services;
  const chosen = service ? known.filter((s) => s.name === service) : known;
  if (service && chosen.length === 0) throw new UsageError(`unknown service "${service}"; one of: ${known.map((s) => s.name).join(', ')}`);
  const all = await Promise.all(chosen.map(({ name, url }) => fetchFigures(name, url)));
  if (context.output.json) context.output.line(JSON.stringify({ services: all }, null, 2));
  else context.output.line(all.map((figures) => renderFigures(context.output, figures)).join('\n\n'));
  return all.some((figures) => figures.error) ? 1 : 0;
}
