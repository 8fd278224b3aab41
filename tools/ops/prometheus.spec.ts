import { histograms, parseExposition, quantile } from './prometheus';

const EXPOSITION = `# HELP http_request_duration_seconds HTTP request latency by route and status
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.01",method="GET",route="/health/ready",status="200"} 50
http_request_duration_seconds_bucket{le="0.1",method="GET",route="/health/ready",status="200"} 90
http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/health/ready",status="200"} 100
http_request_duration_seconds_sum{method="GET",route="/health/ready",status="200"} 3.2
http_request_duration_seconds_count{method="GET",route="/health/ready",status="200"} 100
http_request_duration_seconds_bucket{le="0.01",method="GET",route="/health/ready",status="503"} 0
http_request_duration_seconds_bucket{le="0.1",method="GET",route="/health/ready",status="503"} 0
http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/health/ready",status="503"} 100
http_request_duration_seconds_sum{method="GET",route="/health/ready",status="503"} 300
http_request_duration_seconds_count{method="GET",route="/health/ready",status="503"} 100
# TYPE projection_dead_letters gauge
projection_dead_letters{projection="read-notebooks"} 2
weird_label{path="a \\"quoted\\" \\\\ value"} 1
`;

describe('parseExposition', () => {
  it('reads samples with labels, escapes included, and the declared types', () => {
    const sut = parseExposition(EXPOSITION);
    expect(sut.types.get('http_request_duration_seconds')).toBe('histogram');
    expect(sut.samples).toContainEqual({ name: 'projection_dead_letters', labels: { projection: 'read-notebooks' }, value: 2 });
    expect(sut.samples.find((s) => s.name === 'weird_label')?.labels).toEqual({ path: 'a "quoted" \\ value' });
  });
});

describe('quantile', () => {
  it('interpolates inside the bucket like histogram_quantile, per label set', () => {
    const [ok] = histograms(parseExposition(EXPOSITION)).filter((h) => h.labels['status'] === '200');
    expect(ok && quantile(ok, 0.5)).toBeCloseTo(0.01);
    expect(ok && quantile(ok, 0.7)).toBeCloseTo(0.01 + 0.09 * (20 / 40));
    // The 99th percentile is in the +Inf bucket: the highest finite bound is the best answer.
    expect(ok && quantile(ok, 0.99)).toBeCloseTo(0.1);
  });

  it('merges the labels it is told to, e.g. every status of a route', () => {
    const merged = histograms(parseExposition(EXPOSITION), ['status']);
    expect(merged).toHaveLength(1);
    expect(merged[0]?.count).toBe(200);
    expect(merged[0] && quantile(merged[0], 0.25)).toBeCloseTo(0.01);
  });

  it('has no answer without observations', () => {
    expect(quantile({ name: 'x', labels: {}, buckets: [{ le: Infinity, count: 0 }], count: 0, sum: 0 }, 0.5)).toBeUndefined();
  });
});
