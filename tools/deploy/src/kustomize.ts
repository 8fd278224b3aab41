import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/**
 * A small, offline `kustomize build` for exactly the features deploy/ uses, so the manifests are
 * rendered and validated on a machine that has neither kustomize nor kubectl (Debian's packages
 * have no kustomize and its kubectl is 1.20; no npm package renders kustomizations). Anything else
 * in a kustomization is refused with an error naming it, never silently ignored; where kubectl is
 * installed, a spec checks that this renderer and `kubectl kustomize` produce the same objects.
 *
 * Supported: `resources` (files and directories), `namespace`, `patches` (strategic merge, with
 * `$patch: delete`, and JSON 6902; inline or from a file; with or without `target`), `replicas`
 * and `images`.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface KubernetesObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string; namespace?: string; labels?: Record<string, string> };
}

interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
}

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'patches', 'replicas', 'images']);
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** Kinds that live outside namespaces (the `namespace` field leaves them alone, renaming only Namespace itself). */
const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'PriorityClass',
  'StorageClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

/** Kinds whose namespace rewriting reaches into the spec (subjects, webhook services): not supported here. */
const UNSUPPORTED_KINDS = new Set(['RoleBinding', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);

/** Strategic-merge keys of the lists deploy/ patches; any other list is replaced, as Kubernetes does. */
const LIST_MERGE_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  ports: ['containerPort', 'port'],
};

export class KustomizeError extends Error {
  override name = 'KustomizeError';
}

export function isJsonObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function objectId(object: KubernetesObject): string {
  return `${object.kind}/${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
}

/** Renders the kustomization in `dir` (what `kustomize build dir` prints), as parsed objects. */
export function renderKustomization(dir: string): KubernetesObject[] {
  const file = KUSTOMIZATION_FILES.map((name) => join(dir, name)).find((path) => existsSync(path));
  if (!file) throw new KustomizeError(`${dir}: no kustomization.yaml`);
  const kustomization = parse(readFileSync(file, 'utf8')) as Json;
  if (!isJsonObject(kustomization)) throw new KustomizeError(`${file}: not a mapping`);
  for (const field of Object.keys(kustomization)) {
    if (!SUPPORTED_FIELDS.has(field)) throw new KustomizeError(`${file}: "${field}" is not supported by this renderer (see tools/deploy/src/kustomize.ts)`);
  }

  let objects = listOf(kustomization.resources, file, 'resources').flatMap((entry) => {
    if (typeof entry !== 'string') throw new KustomizeError(`${file}: resources must be paths`);
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new KustomizeError(`${file}: resource ${entry} does not exist`);
    return statSync(path).isDirectory() ? renderKustomization(path) : readObjects(path);
  });
  assertUniqueIds(objects, file);

  for (const patch of listOf(kustomization.patches, file, 'patches')) objects = applyPatch(objects, patch, dir, file);
  for (const replica of listOf(kustomization.replicas, file, 'replicas')) setReplicas(objects, replica, file);
  for (const image of listOf(kustomization.images, file, 'images')) setImages(objects, image, file);
  if (kustomization.namespace !== undefined) {
    if (typeof kustomization.namespace !== 'string') throw new KustomizeError(`${file}: namespace must be a string`);
    setNamespace(objects, kustomization.namespace);
  }
  return objects;
}

/** Every object of a multi-document YAML file. */
export function readObjects(path: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).flatMap((document) => {
    if (document.errors.length > 0) throw new KustomizeError(`${path}: ${document.errors[0].message}`);
    const value = document.toJS() as Json;
    if (value === null) return [];
    return [asKubernetesObject(value, path)];
  });
}

function asKubernetesObject(value: Json, where: string): KubernetesObject {
  if (!isJsonObject(value) || typeof value.apiVersion !== 'string' || typeof value.kind !== 'string') {
    throw new KustomizeError(`${where}: every document needs apiVersion and kind`);
  }
  const metadata = value.metadata;
  if (!isJsonObject(metadata) || typeof metadata.name !== 'string') throw new KustomizeError(`${where}: ${value.kind} without metadata.name`);
  if (UNSUPPORTED_KINDS.has(value.kind)) throw new KustomizeError(`${where}: ${value.kind} is not supported by this renderer`);
  return value as KubernetesObject;
}

function listOf(value: Json | undefined, file: string, field: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new KustomizeError(`${file}: ${field} must be a list`);
  return value;
}

function assertUniqueIds(objects: KubernetesObject[], file: string): void {
  const seen = new Set<string>();
  for (const object of objects) {
    const id = objectId(object);
    if (seen.has(id)) throw new KustomizeError(`${file}: ${id} is defined twice`);
    seen.add(id);
  }
}

function applyPatch(objects: KubernetesObject[], entry: Json, dir: string, file: string): KubernetesObject[] {
  if (!isJsonObject(entry)) throw new KustomizeError(`${file}: a patch must be a mapping`);
  const unknown = Object.keys(entry).filter((key) => !['patch', 'path', 'target'].includes(key));
  if (unknown.length > 0) throw new KustomizeError(`${file}: patch fields ${unknown.join(', ')} are not supported`);
  const text = typeof entry.patch === 'string' ? entry.patch : typeof entry.path === 'string' ? readFileSync(resolve(dir, entry.path), 'utf8') : undefined;
  if (text === undefined) throw new KustomizeError(`${file}: a patch needs "patch" or "path"`);
  const body = parse(text) as Json;
  const target = entry.target === undefined ? undefined : parseTarget(entry.target, file);

  if (Array.isArray(body)) {
    if (!target) throw new KustomizeError(`${file}: a JSON 6902 patch needs a target`);
    const matched = objects.filter((object) => matches(object, target));
    if (matched.length === 0) throw new KustomizeError(`${file}: patch target ${JSON.stringify(target)} matches nothing`);
    return objects.map((object) => (matched.includes(object) ? (applyJsonPatch(object, body, file) as KubernetesObject) : object));
  }

  if (!isJsonObject(body)) throw new KustomizeError(`${file}: a patch must be a mapping or a list of operations`);
  const patchMetadata = isJsonObject(body.metadata) ? body.metadata : {};
  const selector: PatchTarget = target ?? { kind: String(body.kind), name: typeof patchMetadata.name === 'string' ? patchMetadata.name : undefined };
  const matched = objects.filter((object) => matches(object, selector));
  if (matched.length === 0) throw new KustomizeError(`${file}: patch for ${selector.kind}/${selector.name ?? '*'} matches nothing`);
  if (body.$patch === 'delete') return objects.filter((object) => !matched.includes(object));
  if (body.$patch !== undefined) throw new KustomizeError(`${file}: $patch: ${String(body.$patch)} is not supported`);
  // With a target, the patch's own name and kind only identify the patch, not the objects it changes.
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = body;
  const changes: JsonObject = target ? { ...rest, metadata: withoutName(patchMetadata) } : rest;
  return objects.map((object) => (matched.includes(object) ? (strategicMerge(object, changes, file) as KubernetesObject) : object));
}

function withoutName(metadata: JsonObject): JsonObject {
  const { name: _name, ...rest } = metadata;
  return rest;
}

function parseTarget(value: Json, file: string): PatchTarget {
  if (!isJsonObject(value)) throw new KustomizeError(`${file}: target must be a mapping`);
  const allowed = ['group', 'version', 'kind', 'name', 'namespace', 'labelSelector'];
  const target: PatchTarget = {};
  for (const [key, field] of Object.entries(value)) {
    if (!allowed.includes(key) || typeof field !== 'string') throw new KustomizeError(`${file}: target.${key} is not supported`);
    target[key as keyof PatchTarget] = field;
  }
  return target;
}

function matches(object: KubernetesObject, target: PatchTarget): boolean {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  if (target.kind !== undefined && target.kind !== object.kind) return false;
  if (target.name !== undefined && target.name !== object.metadata.name) return false;
  if (target.group !== undefined && target.group !== group) return false;
  if (target.version !== undefined && target.version !== version) return false;
  if (target.namespace !== undefined && target.namespace !== (object.metadata.namespace ?? '')) return false;
  if (target.labelSelector !== undefined) {
    const labels = object.metadata.labels ?? {};
    for (const requirement of target.labelSelector.split(',')) {
      const [key, expected] = requirement.split('=').map((part) => part.trim());
      if (expected === undefined) throw new KustomizeError(`labelSelector "${target.labelSelector}": only key=value terms are supported`);
      if (labels[key] !== expected) return false;
    }
  }
  return true;
}

/** Kubernetes strategic merge: maps merge, `null` removes a key, keyed lists merge by their key. */
export function strategicMerge(original: Json, patch: Json, where: string, field = ''): Json {
  if (isJsonObject(patch)) {
    const directives = Object.keys(patch).filter((key) => key.startsWith('$'));
    if (directives.length > 0) throw new KustomizeError(`${where}: ${directives.join(', ')} is not supported inside a patch`);
    const merged: JsonObject = isJsonObject(original) ? { ...original } : {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete merged[key];
      else merged[key] = strategicMerge(merged[key] ?? null, value, where, key);
    }
    return merged;
  }
  if (Array.isArray(patch) && Array.isArray(original) && LIST_MERGE_KEYS[field]) {
    const key = LIST_MERGE_KEYS[field].find((candidate) => patch.every((item) => isJsonObject(item) && item[candidate] !== undefined));
    if (key === undefined) return patch;
    const keyOf = (item: Json) => (isJsonObject(item) ? item[key] : undefined);
    const patchKeys = new Set(patch.map(keyOf));
    // Same order as kustomize (kyaml): the patch's items first, then the untouched originals.
    const fromPatch = patch.map((item) => {
      const existing = original.find((candidate) => keyOf(candidate) === keyOf(item));
      return existing === undefined ? item : strategicMerge(existing, item, where);
    });
    return [...fromPatch, ...original.filter((item) => !patchKeys.has(keyOf(item)))];
  }
  return patch;
}

/** RFC 6902 add, replace and remove (what deploy/ uses); paths are JSON pointers. */
export function applyJsonPatch(document: Json, operations: Json[], where: string): Json {
  let result = structuredClone(document);
  for (const operation of operations) {
    if (!isJsonObject(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') {
      throw new KustomizeError(`${where}: a JSON patch operation needs op and path`);
    }
    const { op, path } = operation;
    if (!['add', 'replace', 'remove'].includes(op)) throw new KustomizeError(`${where}: JSON patch op "${op}" is not supported`);
    const tokens = path
      .split('/')
      .slice(1)
      .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (tokens.length === 0) {
      if (op === 'remove') throw new KustomizeError(`${where}: cannot remove the whole document`);
      result = operation.value ?? null;
      continue;
    }
    const last = tokens[tokens.length - 1];
    let parent: Json = result;
    for (const token of tokens.slice(0, -1)) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(token)] : isJsonObject(parent) ? parent[token] : undefined;
      if (next === undefined) throw new KustomizeError(`${where}: JSON patch path ${path} does not exist`);
      parent = next;
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length || (op !== 'add' && index >= parent.length)) {
        throw new KustomizeError(`${where}: JSON patch path ${path} does not exist`);
      }
      if (op === 'add') parent.splice(index, 0, operation.value ?? null);
      else if (op === 'replace') parent[index] = operation.value ?? null;
      else parent.splice(index, 1);
    } else if (isJsonObject(parent)) {
      if (op !== 'add' && !(last in parent)) throw new KustomizeError(`${where}: JSON patch path ${path} does not exist`);
      if (op === 'remove') delete parent[last];
      else parent[last] = operation.value ?? null;
    } else {
      throw new KustomizeError(`${where}: JSON patch path ${path} does not exist`);
    }
  }
  return result;
}

function setReplicas(objects: KubernetesObject[], entry: Json, file: string): void {
  if (!isJsonObject(entry) || typeof entry.name !== 'string' || typeof entry.count !== 'number') {
    throw new KustomizeError(`${file}: replicas entries need name and count`);
  }
  const scalable = objects.filter((object) => ['Deployment', 'StatefulSet', 'ReplicaSet'].includes(object.kind) && object.metadata.name === entry.name);
  if (scalable.length === 0) throw new KustomizeError(`${file}: replicas for ${entry.name} match nothing`);
  for (const object of scalable) object.spec = { ...(isJsonObject(object.spec) ? object.spec : {}), replicas: entry.count };
}

function setImages(objects: KubernetesObject[], entry: Json, file: string): void {
  if (!isJsonObject(entry) || typeof entry.name !== 'string') throw new KustomizeError(`${file}: images entries need a name`);
  const unknown = Object.keys(entry).filter((key) => !['name', 'newName', 'newTag', 'digest'].includes(key));
  if (unknown.length > 0) throw new KustomizeError(`${file}: images fields ${unknown.join(', ')} are not supported`);
  const { name, newName, newTag, digest } = entry;
  const rewrite = (image: string): string => {
    const [, repository, tag, imageDigest] = /^(.*?)(?::([^:/@]+))?(?:@(.+))?$/.exec(image) ?? [];
    if (repository !== name) return image;
    const base = typeof newName === 'string' ? newName : repository;
    if (typeof digest === 'string') return `${base}@${digest}`;
    if (typeof newTag === 'string') return `${base}:${newTag}`;
    return `${base}${tag ? `:${tag}` : ''}${imageDigest ? `@${imageDigest}` : ''}`;
  };
  const visit = (node: Json): void => {
    if (Array.isArray(node)) node.forEach(visit);
    if (!isJsonObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) {
        for (const container of value) if (isJsonObject(container) && typeof container.image === 'string') container.image = rewrite(container.image);
      }
      visit(value);
    }
  };
  objects.forEach(visit);
}

function setNamespace(objects: KubernetesObject[], namespace: string): void {
  for (const object of objects) {
    if (object.kind === 'Namespace') object.metadata.name = namespace;
    else if (!CLUSTER_SCOPED_KINDS.has(object.kind)) object.metadata.namespace = namespace;
  }
}
