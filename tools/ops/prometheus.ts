/** One sample of the Prometheus text exposition format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Declared type of each metric family (`# TYPE`). */
  types: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#')) {
      const type = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (type?.[1] && type[2]) types.set(type[1], type[2]);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match?.[1] || match[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) {
      if (key !== undefined && value !== undefined) labels[key] = value.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    samples.push({ name: match[1], labels, value: parseValue(match[3]) });
  }
  return { samples, types };
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** A histogram's cumulative buckets for one label set. */
export interface Histogram {
  name: string;
  labels: Record<string, string>;
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

/**
 * The histograms of an exposition, merged over the labels in `mergeLabels` (e.g. status and
 * outcome, to see one route's latency whatever it answered).
 */
export function histograms(exposition: Exposition, mergeLabels: string[] = []): Histogram[] {
  const merged = new Map<string, Histogram>();
  const ignored = new Set(['le', ...mergeLabels]);
  for (const [family, type] of exposition.types) {
    if (type !== 'histogram') continue;
    for (const sample of exposition.samples) {
      const part = sample.name === `${family}_bucket` ? 'bucket' : sample.name === `${family}_count` ? 'count' : sample.name === `${family}_sum` ? 'sum' : undefined;
      if (!part) continue;
      const labels = Object.fromEntries(Object.entries(sample.labels).filter(([key]) => !ignored.has(key)));
      const key = `${family}${JSON.stringify(Object.entries(labels).sort())}`;
      let histogram = merged.get(key);
      if (!histogram) merged.set(key, (histogram = { name: family, labels, buckets: [], count: 0, sum: 0 }));
      if (part === 'count') histogram.count += sample.value;
      else if (part === 'sum') histogram.sum += sample.value;
      else {
        const le = parseValue(sample.labels['le'] ?? '+Inf');
        const bucket = histogram.buckets.find((b) => b.le === le);
        if (bucket) bucket.count += sample.value;
        else histogram.buckets.push({ le, count: sample.value });
      }
    }
  }
  for (const histogram of merged.values()) histogram.buckets.sort((a, b) => a.le - b.le);
  return [...merged.values()];
}

/**
 * The q-quantile estimated from cumulative buckets, interpolated linearly inside its bucket, as
 * Prometheus' `histogram_quantile` does; undefined without observations.
 */
export function quantile(histogram: Histogram, q: number): number | undefined {
  const total = histogram.buckets.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of histogram.buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      return inBucket === 0 ? bucket.le : lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}
