import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { EVENT_STREAMS } from '@notebooks/contracts';
import { SERVICES, WORKSPACE_ROOT } from '@notebooks/testing';
import { schemaProblems } from './kubernetes-schemas';
import { isJsonObject, objectId, renderKustomization, type Json, type KubernetesObject } from './kustomize';
import { deploymentEnvironments, policyProblems, preStopSeconds, quantity, replicaRanges, workloads, type PolicyContext } from './policies';
import { judgeEnvironments, platformApps, type EnvironmentVerdict, type ServiceSchemas } from './service-env';

const DEPLOY = join(WORKSPACE_ROOT, 'deploy');

/** Per overlay: Secrets that are referenced but created outside the manifests (deploy/README.md says how). */
const OVERLAYS = {
  dev: { production: false, externalSecrets: [] },
  // notebooks-jwt: created by the operator; notebooks-postgres-app: written by CloudNativePG.
  prod: { production: true, externalSecrets: ['notebooks-jwt', 'notebooks-postgres-app'] },
} as const;
type Overlay = keyof typeof OVERLAYS;
const overlayNames = Object.keys(OVERLAYS) as Overlay[];

/** Stand-ins for the values of Secrets that exist only in a cluster, so the schemas can judge the rest. */
const SECRET_SAMPLES = {
  DATABASE_URL: 'postgresql://notebooks:secret@notebooks-postgres-rw:5432/notebooks',
  JWT_PRIVATE_KEY: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  JWT_KEY_ID: 'key-1',
};

/**
 * Execution-service's consumer does not exist yet (its runs are still to be built); the
 * ScaledObject already names the durable it will use. Every other consumer must exist in code.
 */
const PENDING_CONSUMERS = new Set(['execution-runs']);

function contextFor(overlay: Overlay): PolicyContext {
  return {
    apps: platformApps(),
    ports: Object.fromEntries(SERVICES.map((service) => [service.name, service.port])),
    externalSecrets: [...OVERLAYS[overlay].externalSecrets],
    production: OVERLAYS[overlay].production,
  };
}

function sourcesOf(app: string): string {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [readFileSync(join(dir, entry.name), 'utf8')] : [],
    );
  return walk(join(WORKSPACE_ROOT, 'apps', app, 'src')).join('\n');
}

/** A deep copy of a rendered overlay, to break on purpose. */
function copyOf(objects: KubernetesObject[]): KubernetesObject[] {
  return structuredClone(objects);
}

function find(objects: KubernetesObject[], kind: string, name: string): KubernetesObject {
  const object = objects.find((candidate) => candidate.kind === kind && candidate.metadata.name === name);
  if (!object) throw new Error(`${kind}/${name} is not rendered`);
  return object;
}

/** The single container of a rendered Deployment, typed loosely enough to break it. */
function containerOf(objects: KubernetesObject[], name: string): Record<string, Json> {
  const spec = find(objects, 'Deployment', name).spec;
  if (!isJsonObject(spec) || !isJsonObject(spec.template) || !isJsonObject(spec.template.spec) || !Array.isArray(spec.template.spec.containers)) {
    throw new Error(`Deployment/${name} has no containers`);
  }
  const [container] = spec.template.spec.containers;
  if (!isJsonObject(container)) throw new Error(`Deployment/${name} has no container`);
  return container;
}

describe('deploy/ (Kubernetes manifests)', () => {
  const rendered = {} as Record<Overlay, KubernetesObject[]>;
  let schemas: ServiceSchemas;
  let schemaVerdicts: Record<Overlay | 'broken', string[]>;
  const verdict = (id: string): EnvironmentVerdict => {
    const found = schemas.verdicts.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`no verdict for ${id}`);
    return found;
  };

  beforeAll(() => {
    for (const overlay of overlayNames) rendered[overlay] = renderKustomization(join(DEPLOY, 'overlays', overlay));
    // One child process judges every environment of every overlay (loading the schemas takes ~1 s).
    const environments = overlayNames.flatMap((overlay) =>
      deploymentEnvironments(rendered[overlay], SECRET_SAMPLES, [...OVERLAYS[overlay].externalSecrets], overlay),
    );
    const broken = copyOf(rendered.prod);
    const auth = containerOf(broken, 'auth-service');
    auth.env = (auth.env as Json[]).filter((variable) => !(isJsonObject(variable) && variable.name === 'JWT_PRIVATE_KEY'));
    containerOf(broken, 'gateway').env = [...(containerOf(broken, 'gateway').env as Json[]), { name: 'GRAPHQL_MAX_DEPT', value: '5' }];
    environments.push(...deploymentEnvironments(broken, SECRET_SAMPLES, [...OVERLAYS.prod.externalSecrets], 'broken'));
    schemas = judgeEnvironments(environments);

    const malformed = copyOf(rendered.prod);
    (find(malformed, 'HorizontalPodAutoscaler', 'gateway').spec as Record<string, Json>).maxReplicas = 'ten';
    (find(malformed, 'Cluster', 'notebooks-postgres').spec as Record<string, Json>).instances = 'three';
    malformed.push({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
    schemaVerdicts = schemaProblems({ ...rendered, broken: malformed });
  });

  describe.each(overlayNames)('overlays/%s', (overlay) => {
    it('renders every kind it needs and nothing twice', () => {
      const ids = rendered[overlay].map(objectId);

      expect(new Set(ids).size).toBe(ids.length);
      for (const app of platformApps()) expect(ids).toEqual(expect.arrayContaining([`Deployment/${overlay === 'dev' ? 'notebooks-dev' : 'notebooks'}/${app}`]));
    });

    it('matches the Kubernetes, KEDA and CloudNativePG schemas', () => {
      expect(schemaVerdicts[overlay]).toEqual([]);
    });

    it('passes the policy checks (probes, resources, security, selectors, autoscaling, network, references)', () => {
      expect(policyProblems(rendered[overlay], contextFor(overlay))).toEqual([]);
    });

    it("gives every service an environment its own schema accepts, with no variable it does not read", () => {
      for (const app of platformApps()) {
        const { problems, unknown } = verdict(`${overlay} Deployment/${overlay === 'dev' ? 'notebooks-dev' : 'notebooks'}/${app}`);

        expect({ app, problems, unknown }).toEqual({ app, problems: [], unknown: [] });
      }
    });

    it('lets each service finish its graceful stop (SHUTDOWN_TIMEOUT_MS after any preStop pause) within its grace period', () => {
      const mismatched = workloads(rendered[overlay])
        .filter(({ object }) => object.kind === 'Deployment')
        .flatMap(({ object, template }) => {
          const { config } = verdict(`${overlay} ${objectId(object)}`);
          const container = template.spec?.containers[0];
          const needed = Math.ceil((config?.SHUTDOWN_TIMEOUT_MS ?? Number.NaN) / 1000) + (container ? preStopSeconds(container) : 0);
          const grace = template.spec?.terminationGracePeriodSeconds ?? 30;
          // Longer than the process needs (it exits on its own first), but not so long that a hung pod lingers.
          return grace > needed && grace <= needed + 10 ? [] : [`${objectId(object)}: terminationGracePeriodSeconds ${grace}, needs ${needed} + a margin of at most 10`];
        });

      expect(mismatched).toEqual([]);
    });
  });

  describe('overlays/prod', () => {
    it('scales request-driven services with an HPA and consumers with KEDA on existing streams and consumers', () => {
      const ranges = replicaRanges(rendered.prod);
      const scaledBy = (app: string) => ranges.get(app)?.by.map((id) => id.split('/')[0]);

      for (const app of ['gateway', 'notebook-service', 'auth-service', 'search-service']) expect([app, scaledBy(app)]).toEqual([app, ['HorizontalPodAutoscaler']]);
      for (const app of ['projection-service', 'execution-service']) expect([app, scaledBy(app)]).toEqual([app, ['ScaledObject']]);
      for (const [app, range] of ranges) expect([app, range.min >= 2]).toEqual([app, true]);

      const streams: string[] = Object.values(EVENT_STREAMS).map((stream) => stream.stream);
      for (const scaled of rendered.prod.filter((object) => object.kind === 'ScaledObject')) {
        const target = String((scaled.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name);
        for (const trigger of (scaled.spec as { triggers: { type: string; metadata: Record<string, string> }[] }).triggers) {
          expect([objectId(scaled), trigger.type, streams.includes(trigger.metadata.stream)]).toEqual([objectId(scaled), 'nats-jetstream', true]);
          if (!PENDING_CONSUMERS.has(trigger.metadata.consumer)) expect(sourcesOf(target)).toContain(`'${trigger.metadata.consumer}'`);
        }
      }
    });

    it('opens no more Postgres connections at full scale than the cluster allows', () => {
      const ranges = replicaRanges(rendered.prod);
      const pool = (app: string) => verdict(`prod Deployment/notebooks/${app}`).config?.DATABASE_POOL_MAX ?? Number.NaN;
      // Every service at its maximum, plus one replay job (same pool size as the services).
      const connections = [...ranges].reduce((sum, [app, range]) => sum + range.max * pool(app), 0) + pool('projection-service');
      const cluster = find(rendered.prod, 'Cluster', 'notebooks-postgres').spec as { instances: number; postgresql: { parameters: Record<string, string> } };
      const reservedForOperatorAndPeople = 20;

      expect(connections).toBeLessThanOrEqual(Number(cluster.postgresql.parameters.max_connections) - reservedForOperatorAndPeople);
      expect(cluster.instances).toBe(3);
    });

    it('installs a 3-node JetStream cluster that fsyncs before acknowledging, from a pinned chart', () => {
      const valuesFile = readFileSync(join(DEPLOY, 'overlays', 'prod', 'nats-values.yaml'), 'utf8');
      const values = parse(valuesFile) as {
        config: { cluster: { enabled: boolean; replicas: number }; jetstream: { enabled: boolean; fileStore: { enabled: boolean; pvc: { enabled: boolean; size: string } }; merge: { sync_interval: string } } };
        podTemplate: { merge: { metadata: { labels: Record<string, string> } } };
      };
      const chartVersion = /--version (\d+\.\d+\.\d+)/.exec(valuesFile)?.[1];

      expect(values.config.cluster).toEqual({ enabled: true, replicas: 3 });
      expect(values.config.jetstream).toMatchObject({ enabled: true, fileStore: { enabled: true, pvc: { enabled: true } }, merge: { sync_interval: 'always' } });
      expect(quantity(values.config.jetstream.fileStore.pvc.size)).toBeGreaterThan(0);
      // The services' egress policy allows NATS pods by this label.
      expect(values.podTemplate.merge.metadata.labels['notebooks/role']).toBe('nats');
      expect(chartVersion).toBeDefined();
      expect(readFileSync(join(DEPLOY, 'README.md'), 'utf8')).toContain(`--version ${chartVersion}`);
    });
  });

  describe('the checks fail on broken manifests', () => {
    const prod = () => copyOf(rendered.prod);

    it('a Deployment without a readiness probe', () => {
      const broken = prod();
      delete containerOf(broken, 'search-service').readinessProbe;

      expect(policyProblems(broken, contextFor('prod'))).toEqual(['Deployment/notebooks/search-service: no readinessProbe']);
    });

    it('a Service whose selector matches no pods', () => {
      const broken = prod();
      (find(broken, 'Service', 'gateway').spec as { selector: Record<string, string> }).selector['app.kubernetes.io/name'] = 'gate';

      expect(policyProblems(broken, contextFor('prod'))).toEqual([
        'Service/notebooks/gateway: selector must match exactly the pods of Deployment gateway (matches nothing)',
      ]);
    });

    it('a field of the wrong type, a malformed custom resource, and a kind nobody validates', () => {
      // Broken in beforeAll (one validation process for every batch).
      expect([...schemaVerdicts.broken].sort()).toEqual([
        'Cluster/notebooks/notebooks-postgres: spec.instances must be a positive integer',
        expect.stringMatching(/^HorizontalPodAutoscaler\/notebooks\/gateway: .*maxReplicas must be integer/),
        'Widget/w: no schema for example.com/v1/Widget',
      ]);
    });

    it('a Deployment scaled by both an HPA and KEDA, and an HPA aimed at nothing', () => {
      const broken = prod();
      const hpa = structuredClone(find(broken, 'HorizontalPodAutoscaler', 'gateway'));
      hpa.metadata.name = 'projection-service';
      (hpa.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name = 'projection-service';
      const stray = structuredClone(hpa);
      stray.metadata.name = 'stray';
      (stray.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name = 'gone';
      broken.push(hpa, stray);

      expect(policyProblems(broken, contextFor('prod'))).toEqual([
        'HorizontalPodAutoscaler/notebooks/stray: scaleTargetRef must name a Deployment (apps/v1) in these manifests',
        'Deployment projection-service: scaled by HorizontalPodAutoscaler/notebooks/projection-service and ScaledObject/notebooks/projection-service; two autoscalers fight over one replica count',
      ]);
    });

    it('a writable root filesystem, an escalation path and a missing memory limit', () => {
      const broken = prod();
      const container = containerOf(broken, 'execution-service');
      container.securityContext = { ...(container.securityContext as Record<string, Json>), readOnlyRootFilesystem: false, allowPrivilegeEscalation: true };
      delete (container.resources as { limits: Record<string, Json> }).limits.memory;

      expect(policyProblems(broken, contextFor('prod'))).toEqual([
        'Deployment/notebooks/execution-service container service: allowPrivilegeEscalation must be false',
        'Deployment/notebooks/execution-service container service: readOnlyRootFilesystem must be true',
        'Deployment/notebooks/execution-service container service: no memory limit',
      ]);
    });

    it('execution-service given egress to the internet', () => {
      const broken = prod();
      broken.push({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'let-cells-out', namespace: 'notebooks' },
        spec: {
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'execution-service' } },
          policyTypes: ['Egress'],
          egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] }],
        },
      });

      expect(policyProblems(broken, contextFor('prod'))).toEqual([
        'Deployment/notebooks/execution-service (through NetworkPolicy/notebooks/let-cells-out): egress to an ipBlock; service pods reach only labelled pods',
        'Deployment/notebooks/execution-service (through NetworkPolicy/notebooks/let-cells-out): egress on port 443; services only need DNS, NATS and Postgres',
      ]);
    });

    it('an app without a Deployment, and production secret values in the manifests', () => {
      const broken = prod().filter((object) => !(object.kind === 'Deployment' && object.metadata.name === 'search-service'));
      broken.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'oops', namespace: 'notebooks' }, stringData: { key: 'value' } });

      expect(policyProblems(broken, contextFor('prod'))).toEqual(
        expect.arrayContaining(['apps/search-service has no Deployment', 'Secret/notebooks/oops: production manifests carry no secret values; reference Secrets created out of band']),
      );
    });

    it('a production auth-service without its signing key, and a misspelt variable', () => {
      expect(verdict('broken Deployment/notebooks/auth-service').problems).toEqual(['JWT_PRIVATE_KEY: is required when NODE_ENV=production']);
      expect(verdict('broken Deployment/notebooks/gateway').unknown).toEqual(['GRAPHQL_MAX_DEPT']);
    });
  });
});
