import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The packages a worker loads from node_modules as they are (the engine finds its .wasm next to its code). */
const EXTERNAL = /^(quickjs-emscripten-core|@jitl\/quickjs-[a-z-]+)(\/.*)?$/;

export interface WorkerScript {
  /** The worker as one CommonJS file. */
  path: string;
  /** What the worker may read under Node's permission model: its file and the engine's packages. */
  readable: string[];
}

let script: Promise<WorkerScript> | undefined;

/**
 * The sandbox worker (worker.ts and what it imports) bundled into one plain JavaScript file, once
 * per process. Workers run under Node's permission model, which forbids native addons — so they
 * cannot compile TypeScript on the fly — and confines reads to the files they need.
 */
export function workerScript(): Promise<WorkerScript> {
  script ??= bundleWorker();
  return script;
}

async function bundleWorker(): Promise<WorkerScript> {
  const entry = join(__dirname, `worker${__filename.endsWith('.ts') ? '.ts' : '.js'}`);
  const readable = new Set<string>();
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'engine-from-node-modules',
        setup(context) {
          context.onResolve({ filter: EXTERNAL }, (args) => {
            const path = require.resolve(args.path, { paths: [args.resolveDir] });
            readable.add(packageDir(path));
            return { path, external: true };
          });
        },
      },
    ],
  });
  const code = result.outputFiles[0]?.text;
  if (code === undefined) throw new Error('bundling the sandbox worker produced no output');
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const dir = await mkdtemp(join(tmpdir(), 'sandbox-worker-'));
  const path = join(dir, `worker-${hash}.cjs`);
  await writeFile(path, code, { mode: 0o444 });
  return { path, readable: [path, ...readable] };
}

/**
 * `/…/node_modules/name/dist/index.js` → `/…/node_modules/name`; for a scoped package the whole
 * scope (`/…/node_modules/@jitl`), since the engine's packages require each other.
 */
function packageDir(file: string): string {
  const marker = '/node_modules/';
  const at = file.lastIndexOf(marker);
  if (at < 0) return dirname(file);
  const first = file.slice(at + marker.length).split('/')[0] ?? '';
  return file.slice(0, at + marker.length) + first;
}
