import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { WORKSPACE_ROOT } from '@notebooks/testing';
import { KustomizeError, objectId, renderKustomization, type KubernetesObject } from './kustomize';

const OVERLAYS = ['dev', 'prod'];

function writeTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kustomize-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, labels: { app: web, tier: front } }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: service
          image: platform
          env: [{ name: A, value: "1" }, { name: B, value: "2" }, { name: C, value: "3" }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { X: "1", Y: "2" }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: web }
spec: { scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }, maxReplicas: 3 }
`;

describe(renderKustomization.name, () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

  function render(overlay: string): Map<string, KubernetesObject> {
    const root = writeTree({
      'base/kustomization.yaml': 'resources: [app.yaml]\n',
      'base/app.yaml': DEPLOYMENT,
      'overlay/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: placeholder }\n',
      'overlay/kustomization.yaml': overlay,
    });
    roots.push(root);
    return new Map(renderKustomization(join(root, 'overlay')).map((object) => [objectId(object), object]));
  }

  it('sets the namespace of every namespaced object and names the Namespace after it', () => {
    const objects = render('namespace: team\nresources: [../base, namespace.yaml]\n');

    expect([...objects.keys()].sort()).toEqual(['ConfigMap/team/settings', 'Deployment/team/web', 'HorizontalPodAutoscaler/team/web', 'Namespace/team']);
  });

  it('merges strategic patches by list key, patch items first, and removes keys set to null', () => {
    const objects = render(`resources: [../base]
patches:
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: web }
      spec:
        template:
          spec:
            containers:
              - name: service
                env: [{ name: C, value: "30" }, { name: D, value: "4" }]
  - patch: |-
      apiVersion: v1
      kind: ConfigMap
      metadata: { name: settings }
      data: { X: null, Z: "3" }
`);
    const deployment = objects.get('Deployment/web') as { spec: { template: { spec: { containers: { env: unknown[] }[] } } } } & KubernetesObject;

    expect(deployment.spec.template.spec.containers[0].env).toEqual([
      { name: 'C', value: '30' },
      { name: 'D', value: '4' },
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    expect(objects.get('ConfigMap/settings')?.data).toEqual({ Y: '2', Z: '3' });
  });

  it('applies JSON 6902 patches to the targets a label selector picks, and deletes with $patch: delete', () => {
    const objects = render(`resources: [../base]
patches:
  - target: { kind: Deployment, labelSelector: "tier=front" }
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/args
        value: [--fast]
  - patch: |-
      $patch: delete
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: { name: web }
`);

    expect(objects.has('HorizontalPodAutoscaler/web')).toBe(false);
    expect(objects.get('Deployment/web')).toMatchObject({ spec: { template: { spec: { containers: [{ args: ['--fast'] }] } } } });
  });

  it('sets replicas and rewrites images', () => {
    const objects = render(`resources: [../base]
replicas: [{ name: web, count: 2 }]
images: [{ name: platform, newName: registry.example.com/platform, newTag: "1.2.3" }]
`);

    expect(objects.get('Deployment/web')).toMatchObject({
      spec: { replicas: 2, template: { spec: { containers: [{ image: 'registry.example.com/platform:1.2.3' }] } } },
    });
  });

  it('refuses what it does not implement rather than ignoring it', () => {
    expect(() => render('resources: [../base]\ncommonLabels: { a: b }\n')).toThrow(KustomizeError);
    expect(() => render('resources: [../base]\npatches: [{ target: { kind: Service }, patch: "[]" }]\n')).toThrow(/matches nothing/);
  });

  // On a machine with kubectl (it embeds kustomize), the real thing must agree with this renderer.
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  (kubectl ? it.each(OVERLAYS) : it.skip.each(OVERLAYS))('renders deploy/overlays/%s exactly as kubectl kustomize does', (overlay) => {
    const dir = join(WORKSPACE_ROOT, 'deploy', 'overlays', overlay);
    const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    const theirs = parseAllDocuments(result.stdout).map((document) => document.toJS() as KubernetesObject);
    const byId = (objects: KubernetesObject[]) => Object.fromEntries(objects.map((object) => [objectId(object), object]));

    expect(byId(renderKustomization(dir))).toEqual(byId(theirs));
  });
});
