import { freePort, WORKSPACE_ROOT } from '@notebooks/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** `npm start`, as the README tells a newcomer to run it. */
describe('the local platform runner', () => {
  let dataDir: string;
  let port: number;

  const start = () =>
    new Promise<{ runner: ChildProcess; lines: string[] }>((resolve, reject) => {
      const { NATS_URL: _nats, DATABASE_URL: _database, ...env } = process.env;
      const runner = spawn(process.execPath, ['-r', '@swc-node/register', join(WORKSPACE_ROOT, 'tools/dev/start.ts')], {
        cwd: WORKSPACE_ROOT,
        env: { ...env, DATA_DIR: dataDir, PORT: String(port), NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: string[] = [];
      createInterface({ input: runner.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        lines.push(line);
        if (line === 'The platform is up.') resolve({ runner, lines });
      });
      runner.once('exit', (code) => reject(new Error(`runner exited with ${code}:\n${lines.slice(-30).join('\n')}`)));
    });

  const stop = (runner: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      runner.once('exit', (code) => resolve(code));
      runner.kill('SIGINT');
    });

  const graphql = async (query: string, token?: string) => {
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as { data?: Record<string, { accessToken?: string; email?: string } | null>; errors?: unknown[] };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'notebooks-start-'));
    chmodSync(dataDir, 0o755);
    port = await freePort();
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts everything, prints where it is, stops on Ctrl-C, and keeps its data across a restart', async () => {
    const first = await start();
    expect(first.lines.join('\n')).toContain(`GraphQL:      http://127.0.0.1:${port}/graphql`);
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    const registered = await graphql(
      'mutation { register(input: { email: "newcomer@example.com", password: "correct horse battery", displayName: "New" }) { accessToken } }',
    );
    const token = registered.data?.register?.accessToken;
    expect(token).toEqual(expect.any(String));
    expect(await stop(first.runner)).toBe(0);
    expect(first.lines.at(-1)).toMatch(/stopped$/);

    const second = await start();
    try {
      expect((await graphql('{ me { email } }', token)).data).toEqual({ me: { email: 'newcomer@example.com' } });
    } finally {
      expect(await stop(second.runner)).toBe(0);
    }
  }, 180_000);
});
