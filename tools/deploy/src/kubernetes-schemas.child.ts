import type { KubernetesObject } from './kustomize';
import { validateObjects } from './kubernetes-schemas';

/** Child process of `schemaProblems`: batches of Kubernetes objects (JSON) on stdin, each batch's problems (JSON) on stdout. */
async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const batches = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, KubernetesObject[]>;
  const problems = Object.fromEntries(Object.entries(batches).map(([name, objects]) => [name, validateObjects(objects)]));
  process.stdout.write(JSON.stringify(problems));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
