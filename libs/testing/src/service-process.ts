import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './processes';

/** The platform's processes, in start order, with the port each serves HTTP (health, metrics) on by default. */
export const SERVICES = [
  { name: 'auth-service', port: 4102 },
  { name: 'notebook-service', port: 4101 },
  { name: 'projection-service', port: 4105 },
  { name: 'search-service', port: 4104 },
  { name: 'execution-service', port: 4103 },
  { name: 'gateway', port: 4000 },
] as const;

export type ServiceName = (typeof SERVICES)[number]['name'];

export const WORKSPACE_ROOT = join(__dirname, '..', '..', '..');

export interface LaunchOptions {
  env: Record<string, string | undefined>;
  /** Called with each output line of the service. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** A service running as its own process, from its TypeScript sources (swc compiles on load). */
export class ServiceProcess {
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: ServiceName,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  }

  static launch(name: ServiceName, options: LaunchOptions): ServiceProcess {
    const main = join(WORKSPACE_ROOT, 'apps', name, 'src', 'main.ts');
    const child = spawn(process.execPath, ['-r', '@swc-node/register', main], {
      cwd: WORKSPACE_ROOT,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (source && options.onLine) {
        const onLine = options.onLine;
        createInterface({ input: source }).on('line', (line) => onLine(line, stream));
      }
    }
    return new ServiceProcess(name, child);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once `GET /health/ready` answers 200; rejects if the process exits or time runs out. */
  async waitUntilReady(baseUrl: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited with code ${this.child.exitCode}`);
      try {
        const response = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return;
        last = `${response.status} ${await response.text()}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.name} was not ready after ${timeoutMs} ms: ${last}`);
  }

  /** SIGTERM (graceful: drain NATS, finish work), then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Services started for one test file, on its own servers and names. */
export interface RunningServices {
  /** Base URL of each service's HTTP listener. */
  url(name: ServiceName): string;
  /** Output lines of each service, for failure messages. */
  output(name: ServiceName): string;
  /** Ends a service abruptly (SIGKILL), as a crash would. */
  kill(name: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `names` as real processes with `env` and waits until each is ready. */
export async function startServices(
  names: ServiceName[],
  env: Record<string, string>,
  extraEnv: Partial<Record<ServiceName, Record<string, string>>> = {},
): Promise<RunningServices> {
  const started = new Map<ServiceName, { process: ServiceProcess; url: string; lines: string[] }>();
  const stop = () => Promise.all([...started.values()].map((s) => s.process.stop())).then(() => undefined);
  try {
    await Promise.all(
      names.map(async (name) => {
        const port = await freePort();
        const lines: string[] = [];
        const child = ServiceProcess.launch(name, {
          env: { ...process.env, ...env, ...extraEnv[name], PORT: String(port) },
          onLine: (line) => lines.push(line),
        });
        const url = `http://127.0.0.1:${port}`;
        started.set(name, { process: child, url, lines });
        await child.waitUntilReady(url).catch((error: Error) => {
          throw new Error(`${error.message}\n${lines.join('\n')}`);
        });
      }),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const get = (name: ServiceName) => {
    const service = started.get(name);
    if (!service) throw new Error(`${name} was not started`);
    return service;
  };
  return {
    url: (name) => get(name).url,
    output: (name) => get(name).lines.join('\n'),
    kill: async (name) => {
      const { process: child } = get(name);
      child.child.kill('SIGKILL');
      await child.exited;
    },
    stop,
  };
}
