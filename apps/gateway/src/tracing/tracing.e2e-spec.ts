import { AuthSubjects, NotebookSubjects } from '@notebooks/contracts';
import { Metrics, NatsRpc } from '@notebooks/platform';
import { createTestInfra, startServices, type RunningServices, type ServiceName, type TestInfra } from '@notebooks/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { NotebooksClient } from '../../test/notebooks-client';

/** A span as the OTLP/HTTP JSON exporter sends it, flattened with its service's name. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP's numbering: 2 SERVER, 3 CLIENT. */
  kind: number;
  attributes: Record<string, unknown>;
  status: number;
}
const SERVER = 2;
const CLIENT = 3;

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean };
type OtlpAttributes = { key: string; value: OtlpValue }[];
interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttributes };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpAttributes; status?: { code?: number } }[] }[];
  }[];
}

const attributes = (list: OtlpAttributes = []) =>
  Object.fromEntries(list.map(({ key, value }) => [key, value.stringValue ?? value.boolValue ?? (value.intValue === undefined ? undefined : Number(value.intValue))]));

/** A stand-in OpenTelemetry collector: OTLP/HTTP with JSON bodies on `POST /v1/traces`, on a free port. */
async function startOtlpReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; requests: () => number; close: () => Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests++;
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      if (req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415).end();
        return;
      }
      const traces = JSON.parse(body.toString('utf8')) as OtlpTraces;
      for (const resourceSpans of traces.resourceSpans ?? []) {
        const service = String(attributes(resourceSpans.resource?.attributes)['service.name']);
        for (const span of (resourceSpans.scopeSpans ?? []).flatMap((scope) => scope.spans ?? [])) {
          spans.push({
            service,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            attributes: attributes(span.attributes),
            status: span.status?.code ?? 0,
          });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Waits until `find` returns something from what was received. */
async function eventually<T>(find: () => T | undefined, what: string, spans: ReceivedSpan[], timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      throw new Error(`${what} never arrived; received: ${spans.map((s) => `${s.service} ${s.name}`).join(', ') || 'nothing'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The JSON log lines of a service's output. */
const logLines = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('tracing across the gateway, NATS and the services', () => {
  let infra: TestInfra;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;

  beforeAll(async () => {
    infra = await createTestInfra();
    receiver = await startOtlpReceiver();
  });

  afterAll(async () => {
    await receiver?.close();
    await infra?.dispose();
  });

  describe('with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
    let services: RunningServices;
    let api: NotebooksClient;

    beforeAll(async () => {
      const traced = {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_TRACES_EXPORTER: '',
        OTEL_SDK_DISABLED: '',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      };
      services = await startServices(['auth-service', 'notebook-service', 'projection-service', 'gateway'], infra.serviceEnv(traced), {
        gateway: { LOG_LEVEL: 'info' },
      });
      api = new NotebooksClient(services.url('gateway'));
    });

    afterAll(async () => {
      await services?.stop();
    });

    it('continues the caller\'s trace from the gateway through NATS into auth-service', async () => {
      const traceId = randomBytes(16).toString('hex');
      const callerSpanId = randomBytes(8).toString('hex');
      const email = `ada.${randomBytes(4).toString('hex')}@example.com`;
      const response = await fetch(`${services.url('gateway')}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpanId}-01` },
        body: JSON.stringify({
          query: 'mutation($input: RegisterInput!) { register(input: $input) { user { id } } }',
          variables: { input: { email, password: 'correct horse battery', displayName: 'Ada' } },
        }),
      });
      expect(response.status).toBe(200);

      // Each service sends its own batches: wait for all three spans.
      const [http, request, served] = await eventually(
        () => {
          const inTrace = receiver.spans.filter((span) => span.traceId === traceId);
          const found = [
            inTrace.find((span) => span.service === 'gateway' && span.kind === SERVER),
            inTrace.find((span) => span.service === 'gateway' && span.name === `request ${AuthSubjects.register}`),
            inTrace.find((span) => span.service === 'auth-service' && span.name === `process ${AuthSubjects.register}`),
          ];
          return found.every(Boolean) ? found : undefined;
        },
        'the gateway\'s and auth-service\'s spans',
        receiver.spans,
      );

      expect(http).toMatchObject({ name: 'POST /graphql', parentSpanId: callerSpanId, attributes: { 'http.route': '/graphql', 'http.response.status_code': 200 } });
      expect(request).toMatchObject({ kind: CLIENT, parentSpanId: http?.spanId, attributes: { 'messaging.system': 'nats', 'notebooks.rpc.outcome': 'ok' } });
      expect(served).toMatchObject({ kind: SERVER, parentSpanId: request?.spanId, attributes: { 'messaging.system': 'nats', 'notebooks.rpc.outcome': 'ok' } });
    });

    it('puts createNotebook\'s gateway and notebook-service spans in one trace, the NATS client span parenting the server span', async () => {
      const ada = await api.register('Ada');
      const { notebookId } = await api.createNotebook(ada, { title: 'Traced' });

      const [served, request, http] = await eventually(() => {
        const served = receiver.spans.find((span) => span.service === 'notebook-service' && span.name === `process ${NotebookSubjects.command}` && span.attributes['notebooks.rpc.outcome'] === 'ok');
        const request = served && receiver.spans.find((span) => span.traceId === served.traceId && span.spanId === served.parentSpanId);
        const http = request && receiver.spans.find((span) => span.traceId === served.traceId && span.spanId === request.parentSpanId);
        return served && request && http ? [served, request, http] : undefined;
      }, 'notebook-service\'s server span and its parents', receiver.spans);

      expect(served).toMatchObject({
        kind: SERVER,
        attributes: { 'messaging.system': 'nats', 'messaging.destination.name': `${infra.namespace}.${NotebookSubjects.command}`, 'messaging.destination.template': NotebookSubjects.command },
      });
      expect(request).toMatchObject({ service: 'gateway', kind: CLIENT, name: `request ${NotebookSubjects.command}`, attributes: { 'messaging.system': 'nats', 'notebooks.rpc.outcome': 'ok' } });
      expect(http).toMatchObject({ service: 'gateway', kind: SERVER, name: 'POST /graphql', parentSpanId: undefined });

      // The gateway's log lines of that request carry the trace id next to the correlation id.
      const logged = await eventually(
        () => logLines(services.output('gateway')).find((line) => line['traceId'] === served.traceId),
        'a gateway log line with the trace id',
        receiver.spans,
      );
      expect(logged).toMatchObject({ correlationId: expect.any(String), spanId: expect.any(String) });
      expect(notebookId).toEqual(expect.any(String));
    });

    it('records a client mistake on the spans without marking them as errors', async () => {
      const ada = await api.register('Ada');
      const response = await api.run(ada, 'mutation($id: ID!) { addCell(notebookId: $id, input: { value: "x = 1" }) { version } }', { id: randomUUID() });
      expect(response.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

      const [refused, request, http] = await eventually(() => {
        const refused = receiver.spans.find((span) => span.service === 'notebook-service' && span.attributes['error.type'] === 'NOT_FOUND');
        const request = refused && receiver.spans.find((span) => span.spanId === refused.parentSpanId);
        const http = request && receiver.spans.find((span) => span.spanId === request.parentSpanId);
        return refused && request && http ? [refused, request, http] : undefined;
      }, 'the refused command\'s spans', receiver.spans);
      const UNSET = 0;
      expect(refused).toMatchObject({ kind: SERVER, status: UNSET, attributes: { 'notebooks.rpc.outcome': 'NOT_FOUND' } });
      expect(request).toMatchObject({ service: 'gateway', kind: CLIENT, status: UNSET, attributes: { 'error.type': 'NOT_FOUND' } });
      expect(http).toMatchObject({ service: 'gateway', kind: SERVER, status: UNSET, attributes: { 'http.response.status_code': 200 } });
    });
  });

  describe('on SIGTERM', () => {
    it('flushes the spans still buffered before the process exits', async () => {
      const services = await startServices(
        ['auth-service'],
        infra.serviceEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '60000' }),
      );
      const from = receiver.spans.length;
      const answered = () => receiver.spans.slice(from).find((span) => span.service === 'auth-service' && span.name === `process ${AuthSubjects.jwks}`);
      try {
        const rpc = new NatsRpc(await infra.connectNats(), { servers: infra.natsUrl, name: 'test-client', namespace: infra.namespace }, new Metrics());
        await rpc.request(AuthSubjects.jwks, {});
        await new Promise((r) => setTimeout(r, 500));
        expect(answered()).toBeUndefined(); // still buffered: the batch goes out once a minute
      } finally {
        await services.stop();
      }

      expect(answered()).toMatchObject({ kind: SERVER, attributes: { 'notebooks.rpc.outcome': 'ok' } });
    });
  });

  describe('without an endpoint', () => {
    let services: RunningServices;
    const quiet: Record<string, string> = {
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
      OTEL_SDK_DISABLED: '',
      // Were an SDK started anyway, it would print every span on stdout.
      OTEL_TRACES_EXPORTER: 'console',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      LOG_LEVEL: 'info',
    };

    beforeAll(async () => {
      services = await startServices(['auth-service', 'gateway'], infra.serviceEnv(quiet));
    });

    afterAll(async () => {
      await services?.stop();
    });

    it('starts no SDK: nothing is exported, and log lines carry correlation ids but no trace ids', async () => {
      const before = receiver.requests();
      await new NotebooksClient(services.url('gateway')).register('Grace');
      await new Promise((r) => setTimeout(r, 1_000));

      const names: ServiceName[] = ['auth-service', 'gateway'];
      for (const name of names) expect(services.output(name)).not.toMatch(/traceId/);
      expect(logLines(services.output('gateway')).some((line) => typeof line['correlationId'] === 'string')).toBe(true);
      expect(receiver.requests()).toBe(before);
    });
  });
});
