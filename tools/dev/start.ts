import { join } from 'node:path';
import { provideInfrastructure, type Infrastructure } from './infrastructure';
import { formatLogLine } from './log-format';
import { freePort, SERVICES, ServiceProcess, WORKSPACE_ROOT, type ServiceName } from '@notebooks/testing';
import { platformFilePath, removePlatformFile, writePlatformFile } from '../ops/platform-file';

/**
 * `npm start`: the whole platform on this machine. Starts NATS (JetStream) and Postgres unless
 * NATS_URL / DATABASE_URL are set, then every service, waits until all are ready and prints where
 * to reach them. Ctrl-C stops everything; data stays in DATA_DIR (default `.data`).
 */
async function main(): Promise<void> {
  const dataDir = process.env.DATA_DIR ?? join(WORKSPACE_ROOT, '.data');
  const platformFile = platformFilePath(dataDir);
  const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
  const rawLogs = process.env.LOG_FORMAT === 'json';
  const width = Math.max(...SERVICES.map((s) => s.name.length));
  const say = (line: string) => console.log(`${'platform'.padEnd(width)} | ${line}`);

  let infrastructure: Infrastructure | undefined;
  const services = new Map<ServiceName, ServiceProcess>();
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping services…');
    await Promise.all([...services.values()].map((s) => s.stop()));
    for (const dependency of [...(infrastructure?.started ?? [])].reverse()) {
      say(`stopping ${dependency.name}…`);
      await dependency.stop();
    }
    removePlatformFile(platformFile);
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    infrastructure = await provideInfrastructure(dataDir, say);
    for (const dependency of infrastructure.started) say(`started ${dependency.name} at ${dependency.url} (data in ${dataDir})`);

    const gatewayPort = Number(process.env.PORT ?? 4000);
    const ports = new Map<ServiceName, number>();
    for (const { name, port } of SERVICES) {
      ports.set(name, name === 'gateway' ? gatewayPort : await freePort(port));
    }

    const launch = (name: ServiceName, index: number, attempt = 0): ServiceProcess => {
      const service = ServiceProcess.launch(name, {
        env: {
          ...process.env,
          NODE_ENV: process.env.NODE_ENV ?? 'development',
          HOST: process.env.HOST ?? '127.0.0.1',
          PORT: String(ports.get(name)),
          NATS_URL: infrastructure?.natsUrl,
          DATABASE_URL: infrastructure?.databaseUrl,
        },
        onLine: (line) => console.log(rawLogs ? `${name.padEnd(width)} | ${line}` : formatLogLine(name, index, line, width, color)),
      });
      services.set(name, service);
      void service.exited.then((code) => {
        if (stopping) return;
        const delay = Math.min(30_000, 1_000 * 2 ** attempt);
        say(`${name} exited with code ${code}; restarting in ${delay / 1000} s`);
        setTimeout(() => !stopping && launch(name, index, attempt + 1), delay);
      });
      return service;
    };

    const host = process.env.HOST && process.env.HOST !== '0.0.0.0' ? process.env.HOST : '127.0.0.1';
    // Where `npm run ops` finds this platform; written before readiness so it can diagnose a slow start.
    writePlatformFile(platformFile, {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      natsUrl: infrastructure.natsUrl,
      databaseUrl: infrastructure.databaseUrl,
      namespace: process.env.NATS_NAMESPACE ?? '',
      graphqlUrl: `http://${host}:${gatewayPort}/graphql`,
      services: Object.fromEntries(SERVICES.map(({ name }) => [name, `http://${host}:${ports.get(name)}`])),
    });
    await Promise.all(
      SERVICES.map(({ name }, index) => launch(name, index).waitUntilReady(`http://${host}:${ports.get(name)}`, 120_000)),
    );

    const lines = [
      '',
      'The platform is up.',
      `  GraphQL:      http://${host}:${gatewayPort}/graphql`,
      ...SERVICES.map(({ name }) => `  ${`${name}:`.padEnd(20)}http://${host}:${ports.get(name)}/health/ready  (metrics: /metrics)`),
      `  NATS:         ${infrastructure.natsUrl}`,
      `  Postgres:     ${infrastructure.databaseUrl}`,
      'Press Ctrl-C to stop.',
      '',
    ];
    console.log(lines.join('\n'));
  } catch (error) {
    say(`could not start the platform: ${error instanceof Error ? error.message : String(error)}`);
    await shutdown(1);
  }
}

void main();
