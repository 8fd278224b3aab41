import { freePort } from './processes';
import { createTestInfra, type TestInfra } from './test-infra';
import { sql } from 'kysely';
import { SERVICES, ServiceProcess } from './service-process';

const OWN_SCHEMAS: Record<string, string | undefined> = {
  'notebook-service': 'notebook',
  'auth-service': 'auth',
  'execution-service': 'execution',
  'search-service': 'search',
  'projection-service': 'read',
  gateway: undefined,
};

describe('service processes', () => {
  let infra: TestInfra;
  const running: ServiceProcess[] = [];

  beforeAll(async () => {
    infra = await createTestInfra();
  });

  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop()));
    await infra.dispose();
  });

  it('each service starts, migrates its own schema, reports ready and serves metrics', async () => {
    const started = await Promise.all(
      SERVICES.map(async ({ name }) => {
        const port = await freePort();
        const output: string[] = [];
        const service = ServiceProcess.launch(name, {
          env: { ...process.env, ...infra.serviceEnv({ PORT: String(port) }) },
          onLine: (line) => output.push(line),
        });
        running.push(service);
        await service.waitUntilReady(`http://127.0.0.1:${port}`).catch((error: Error) => {
          throw new Error(`${error.message}\n${output.join('\n')}`);
        });
        return { name, port };
      }),
    );

    for (const { name, port } of started) {
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      const body = (await ready.json()) as { status: string; info: Record<string, { status: string }> };
      expect({ name, status: body.status, nats: body.info.nats?.status, postgres: body.info.postgres?.status }).toEqual({
        name,
        status: 'ok',
        nats: 'up',
        postgres: 'up',
      });
      expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('process_resident_memory_bytes');
      expect(metrics).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/health\/ready",status="200"\} [1-9]/);
    }

    const db = infra.database();
    const { rows } = await sql<{ schema_name: string }>`select schema_name from information_schema.schemata`.execute(db);
    const schemas = rows.map((r) => r.schema_name);
    for (const schema of Object.values(OWN_SCHEMAS).filter(Boolean)) expect(schemas).toContain(schema);
  });

  it('a stopped service exits cleanly on SIGTERM', async () => {
    const port = await freePort();
    const service = ServiceProcess.launch('notebook-service', { env: { ...process.env, ...infra.serviceEnv({ PORT: String(port) }) } });
    running.push(service);
    await service.waitUntilReady(`http://127.0.0.1:${port}`);
    await service.stop();
    expect(await service.exited).toBe(0);
  });

  it.each(SERVICES.map((s) => s.name))('%s refuses to start on a bad configuration value, naming the variable', async (name) => {
    const lines: string[] = [];
    const service = ServiceProcess.launch(name, {
      env: { ...process.env, ...infra.serviceEnv({ NATS_URL: 'http://not-nats', PORT: '70000' }) },
      onLine: (line, stream) => stream === 'stderr' && lines.push(line),
    });
    running.push(service);

    expect(await service.exited).toBe(78);
    const stderr = lines.join('\n');
    expect(stderr).toContain(`${name}: invalid configuration`);
    expect(stderr).toMatch(/NATS_URL: must be one or more comma-separated nats:\/\/ URLs \(got "http:\/\/not-nats"\)/);
    expect(stderr).toMatch(/PORT: .*\(got "70000"\)/);
  });
});
