import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@notebooks/testing';
import { isJsonObject, objectId, type Json, type KubernetesObject } from './kustomize';

interface Model {
  validate(): void;
}
type ModelClass = new (data: KubernetesObject) => Model;

/** Where the model of each apiVersion + kind lives: package, file inside it, exported class. */
const MODELS: Record<string, [pkg: string, file: string, exported: string]> = {
  'v1/ConfigMap': ['kubernetes-models', 'v1/ConfigMap.js', 'ConfigMap'],
  'v1/Namespace': ['kubernetes-models', 'v1/Namespace.js', 'Namespace'],
  'v1/Secret': ['kubernetes-models', 'v1/Secret.js', 'Secret'],
  'v1/Service': ['kubernetes-models', 'v1/Service.js', 'Service'],
  'apps/v1/Deployment': ['kubernetes-models', 'apps/v1/Deployment.js', 'Deployment'],
  'apps/v1/StatefulSet': ['kubernetes-models', 'apps/v1/StatefulSet.js', 'StatefulSet'],
  'batch/v1/CronJob': ['kubernetes-models', 'batch/v1/CronJob.js', 'CronJob'],
  'batch/v1/Job': ['kubernetes-models', 'batch/v1/Job.js', 'Job'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models', 'policy/v1/PodDisruptionBudget.js', 'PodDisruptionBudget'],
  'autoscaling/v2/HorizontalPodAutoscaler': ['kubernetes-models', 'autoscaling/v2/HorizontalPodAutoscaler.js', 'HorizontalPodAutoscaler'],
  'networking.k8s.io/v1/NetworkPolicy': ['kubernetes-models', 'networking.k8s.io/v1/NetworkPolicy.js', 'NetworkPolicy'],
  'keda.sh/v1alpha1/ScaledObject': ['@kubernetes-models/keda', 'keda.sh/v1alpha1/ScaledObject.js', 'ScaledObject'],
};

/** Custom resources without a published model: checked for the structure deploy/ relies on. */
const STRUCTURAL_CHECKS: Record<string, (object: KubernetesObject) => string[]> = {
  'postgresql.cnpg.io/v1/Cluster': checkCloudNativePgCluster,
};

/*
 * kubernetes-models is ESM-only and exports its files under the `import` condition alone. Node's
 * own require loads such files by path (require(esm), Node >= 20.19), but Jest swaps in its own
 * require, which cannot; so specs validate through {@link schemaProblems}, which runs
 * {@link validateObjects} in a plain Node child process.
 */
const nativeRequire = createRequire(__filename);
const loaded = new Map<string, ModelClass>();

function packageDir(name: string): string {
  for (const base of nativeRequire.resolve.paths(name) ?? []) {
    const dir = join(base, name);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`${name} is not installed (npm install)`);
}

function modelFor(key: string): ModelClass | undefined {
  const location = MODELS[key];
  if (!location) return undefined;
  let model = loaded.get(key);
  if (!model) {
    const [pkg, file, exported] = location;
    const module = nativeRequire(join(packageDir(pkg), file)) as Record<string, ModelClass>;
    model = module[exported];
    loaded.set(key, model);
  }
  return model;
}

/**
 * Validates each object of each batch against the Kubernetes (or KEDA) OpenAPI schema of its apiVersion and kind,
 * or the structural check of a custom resource. An object of any other kind is a problem too:
 * nothing reaches a cluster unvalidated. (The models check types, enums, formats and required
 * fields; like the API server without strict field validation they do not reject unknown fields,
 * which the policy checks cover for the fields deploy/ depends on.)
 */
export function schemaProblems<K extends string>(batches: Record<K, KubernetesObject[]>): Record<K, string[]> {
  // One child for every batch: starting it costs more than validating.
  const child = join(__dirname, 'kubernetes-schemas.child.ts');
  const result = spawnSync(process.execPath, ['-r', '@swc-node/register', child], {
    cwd: WORKSPACE_ROOT,
    input: JSON.stringify(batches),
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '' },
  });
  if (result.status !== 0) throw new Error(`schema validation failed to run (${result.status ?? result.signal}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as Record<K, string[]>;
}

/** {@link schemaProblems} in this process; needs Node's own require (not Jest's). */
export function validateObjects(objects: KubernetesObject[]): string[] {
  return objects.flatMap((object) => {
    const key = `${object.apiVersion}/${object.kind}`;
    const structural = STRUCTURAL_CHECKS[key];
    if (structural) return structural(object).map((problem) => `${objectId(object)}: ${problem}`);
    const model = modelFor(key);
    if (!model) return [`${objectId(object)}: no schema for ${key}`];
    try {
      new model(object).validate();
      return [];
    } catch (error) {
      return [`${objectId(object)}: ${error instanceof Error ? error.message : String(error)}`];
    }
  });
}

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/;

/** The value at a dotted path, or undefined where the path leaves the mappings. */
function valueAt(node: Json | undefined, path: string): Json | undefined {
  return path.split('.').reduce<Json | undefined>((current, key) => (current !== undefined && isJsonObject(current) ? current[key] : undefined), node);
}

/** The fields of a CloudNativePG `Cluster` (postgresql.cnpg.io/v1) that deploy/ sets. */
function checkCloudNativePgCluster(object: KubernetesObject): string[] {
  const problems: string[] = [];
  const spec = object.spec;
  if (!isJsonObject(spec)) return ['spec is missing'];
  const instances = spec.instances;
  if (typeof instances !== 'number' || !Number.isInteger(instances) || instances < 1) problems.push('spec.instances must be a positive integer');
  const size = valueAt(spec, 'storage.size');
  if (typeof size !== 'string' || !QUANTITY.test(size)) problems.push('spec.storage.size must be a quantity such as 50Gi');
  if (spec.imageName !== undefined && (typeof spec.imageName !== 'string' || !/:[\w.-]+$/.test(spec.imageName))) problems.push('spec.imageName must name a tagged image');
  for (const field of ['database', 'owner']) {
    if (typeof valueAt(spec, `bootstrap.initdb.${field}`) !== 'string') problems.push(`spec.bootstrap.initdb.${field} must be a string`);
  }
  const parameters = valueAt(spec, 'postgresql.parameters');
  if (parameters !== undefined) {
    if (!isJsonObject(parameters)) problems.push('spec.postgresql.parameters must be a mapping');
    else for (const [name, value] of Object.entries(parameters)) if (typeof value !== 'string') problems.push(`spec.postgresql.parameters.${name} must be a string`);
  }
  for (const field of ['requests', 'limits']) {
    const resources = valueAt(spec, `resources.${field}`);
    if (resources !== undefined && (!isJsonObject(resources) || Object.values(resources).some((value) => typeof value !== 'string' || !QUANTITY.test(value)))) {
      problems.push(`spec.resources.${field} must map resources to quantities`);
    }
  }
  const synchronous = valueAt(spec, 'postgresql.synchronous');
  if (synchronous !== undefined) {
    const { method, number } = isJsonObject(synchronous) ? synchronous : { method: undefined, number: undefined };
    if (!['any', 'first'].includes(String(method)) || typeof number !== 'number' || !Number.isInteger(number)) {
      problems.push('spec.postgresql.synchronous needs method any|first and an integer number');
    } else if (typeof instances === 'number' && number >= instances) {
      problems.push('spec.postgresql.synchronous.number must be below spec.instances');
    }
  }
  return problems;
}
