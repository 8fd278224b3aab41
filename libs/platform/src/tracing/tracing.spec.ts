import { context, propagation, trace } from '@opentelemetry/api';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

type TracingModule = typeof import('./tracing');

const execFileAsync = promisify(execFile);

interface OtlpSpan {
  name: string;
  traceId: string;
}
interface OtlpRequest {
  resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

describe('startTracing', () => {
  const saved = { ...process.env };
  let receiver: Server;
  let endpoint: string;
  const received: OtlpRequest[] = [];

  /** A fresh copy of the module, and whether it loaded the SDK. */
  const load = () => {
    const loaded = { sdk: false };
    let tracing!: TracingModule;
    jest.isolateModules(() => {
      jest.doMock('@opentelemetry/sdk-node', () => {
        loaded.sdk = true;
        return jest.requireActual('@opentelemetry/sdk-node');
      });
      tracing = jest.requireActual<TracingModule>('./tracing');
    });
    return { tracing, loaded };
  };

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    received.length = 0;
    for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name];
    process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] = 'http/json';
    process.env['OTEL_BSP_SCHEDULE_DELAY'] = '20';
  });

  afterAll(async () => {
    process.env = saved;
    trace.disable();
    context.disable();
    propagation.disable();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('starts nothing and loads no SDK without an endpoint', async () => {
    const { tracing, loaded } = load();

    expect(await tracing.startTracing('quiet-service')).toBeUndefined();
    expect(tracing.tracingStarted()).toBe(false);
    expect(loaded.sdk).toBe(false);
    expect(trace.getTracer('spec').startSpan('nothing').isRecording()).toBe(false);
  });

  it('stays off with OTEL_SDK_DISABLED=true, endpoint or not', async () => {
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = endpoint;
    process.env['OTEL_SDK_DISABLED'] = 'true';
    const { tracing, loaded } = load();

    expect(await tracing.startTracing('quiet-service')).toBeUndefined();
    expect(loaded.sdk).toBe(false);
  });

  it('with an endpoint, exports spans named after the service, and flushes them on shutdown', async () => {
    // In a process of its own, as a service runs: inside Jest the exporter's lazy `import('http')` fails.
    const script = `
      const { trace } = require('@opentelemetry/api');
      const { startTracing, tracingStarted } = require(${JSON.stringify(join(__dirname, 'tracing.ts'))});
      (async () => {
        const tracing = await startTracing('traced-service');
        const span = trace.getTracer('spec').startSpan('unit of work');
        span.end();
        const startedBefore = tracingStarted();
        await tracing.shutdown();
        process.stdout.write(JSON.stringify({ traceId: span.spanContext().traceId, startedBefore, startedAfter: tracingStarted() }));
      })();`;
    const child = await execFileAsync(process.execPath, ['-r', '@swc-node/register', '-e', script], {
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '60000' }, // only the shutdown can have sent it
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.stderr).toBe('');
    const { traceId, startedBefore, startedAfter } = JSON.parse(child.stdout) as { traceId: string; startedBefore: boolean; startedAfter: boolean };

    expect([startedBefore, startedAfter]).toEqual([true, false]);
    const [request] = received;
    const [resourceSpans] = request?.resourceSpans ?? [];
    expect(resourceSpans?.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'traced-service' } });
    expect(resourceSpans?.scopeSpans.flatMap((scope) => scope.spans)).toEqual([expect.objectContaining({ name: 'unit of work', traceId })]);
  });
});
