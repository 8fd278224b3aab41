import { transformFile, type Options } from '@swc/core';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { WORKSPACE_ROOT } from '@notebooks/testing';

/**
 * `npm run build`: compiles every app and lib (sources and migrations, not specs) into `dist/`
 * with the same layout, rewriting `@notebooks/*` imports to relative paths, so a service runs with
 * plain `node dist/apps/<service>/src/main.js` (what the container image does).
 */
async function build(): Promise<void> {
  const out = join(WORKSPACE_ROOT, 'dist');
  rmSync(out, { recursive: true, force: true });
  const swcrc = JSON.parse(readFileSync(join(WORKSPACE_ROOT, '.swcrc'), 'utf8')) as Options;
  const { compilerOptions } = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'tsconfig.base.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  const options: Options = {
    ...swcrc,
    swcrc: false,
    jsc: { ...swcrc.jsc, baseUrl: WORKSPACE_ROOT, paths: compilerOptions.paths },
  };
  const sources = ['apps', 'libs'].flatMap((dir) => walk(join(WORKSPACE_ROOT, dir)));
  const started = performance.now();
  await Promise.all(
    sources.map(async (file) => {
      const target = join(out, relative(WORKSPACE_ROOT, file)).replace(/\.ts$/, '.js');
      const { code, map } = await transformFile(file, { ...options, filename: file, sourceFileName: relative(dirname(target), file) });
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, map ? `${code}\n//# sourceMappingURL=${target.split('/').pop()}.map\n` : code);
      if (map) writeFileSync(`${target}.map`, map);
    }),
  );
  console.log(`compiled ${sources.length} files into ${relative(process.cwd(), out) || 'dist'} in ${Math.round(performance.now() - started)} ms`);
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : walk(path);
    const source = name.endsWith('.ts') && !name.endsWith('.d.ts') && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(name);
    return source && !path.includes('/libs/testing/') ? [path] : [];
  });
}

build().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
