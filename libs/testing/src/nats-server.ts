import { connect } from '@nats-io/transport-node';
import { mkdirSync } from 'node:fs';
import { findExecutable, freePort, ManagedProcess, waitUntilReady } from './processes';

export interface NatsServerOptions {
  /** Where JetStream keeps its files; survives a restart when the same folder is given. */
  storeDir: string;
  /** Port to prefer; another free one is used when it is taken. */
  port?: number;
}

export interface RunningNatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const NATS_SERVER_MISSING =
  'nats-server was not found. On Debian install it with `apt-get install -y nats-server`, or set NATS_URL to a running NATS server with JetStream.';

/** Starts a private `nats-server` with JetStream (file storage) on loopback. */
export async function startNatsServer(options: NatsServerOptions): Promise<RunningNatsServer> {
  const binary = findExecutable('nats-server');
  if (!binary) throw new Error(NATS_SERVER_MISSING);
  mkdirSync(options.storeDir, { recursive: true });
  const port = await freePort(options.port);
  const server = ManagedProcess.start('nats-server', binary, [
    '--addr', '127.0.0.1',
    '--port', String(port),
    '--jetstream',
    '--store_dir', options.storeDir,
    '--http_port', '0',
  ]);
  const url = `nats://127.0.0.1:${port}`;
  await waitUntilReady(
    server,
    async () => {
      const connection = await connect({ servers: url, reconnect: false, timeout: 500 });
      await connection.close();
    },
    15_000,
  );
  return { url, port, stop: () => server.stop('SIGTERM') };
}
