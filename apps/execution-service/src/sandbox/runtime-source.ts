import { buildSync } from 'esbuild';

let cached: string | undefined;

/**
 * `@observablehq/runtime` as one classic script for the guest engine (which has no module loader
 * here): it leaves `{ Runtime, RuntimeError }` at `globalThis.__observableRuntime`. Bundled once per
 * process from the installed package, so the sandbox runs exactly the runtime we depend on.
 */
export function observableRuntimeSource(): string {
  cached ??= bundle();
  return cached;
}

/** A worker gets the bundle from its parent: bundling starts a process, which workers may not do. */
export function setObservableRuntimeSource(source: string): void {
  cached = source;
}

function bundle(): string {
  const result = buildSync({
    stdin: {
      contents: "export { Runtime, RuntimeError } from '@observablehq/runtime';",
      resolveDir: __dirname,
      loader: 'js',
    },
    bundle: true,
    format: 'iife',
    globalName: '__observableRuntime',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('bundling @observablehq/runtime produced no output');
  // Inside a function the bundle's `var` stays local; the harness deletes the global it leaves.
  return `(function () {\n${output.text}\nglobalThis.__observableRuntime = __observableRuntime;\n})();`;
}
