import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap' with { 'resolution-mode': 'import' };
import type { IContainer } from 'kubernetes-models/v1/Container' with { 'resolution-mode': 'import' };
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec' with { 'resolution-mode': 'import' };
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec' with { 'resolution-mode': 'import' };
import type { IProbe } from 'kubernetes-models/v1/Probe' with { 'resolution-mode': 'import' };
import type { ISecret } from 'kubernetes-models/v1/Secret' with { 'resolution-mode': 'import' };
import type { IService } from 'kubernetes-models/v1/Service' with { 'resolution-mode': 'import' };
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment' with { 'resolution-mode': 'import' };
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler' with { 'resolution-mode': 'import' };
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy' with { 'resolution-mode': 'import' };
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget' with { 'resolution-mode': 'import' };
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject' with { 'resolution-mode': 'import' };
import { isJsonObject, objectId, type KubernetesObject } from './kustomize';
import type { EnvironmentUnderTest } from './service-env';

/** What the policies compare the manifests with. */
export interface PolicyContext {
  /** Every app that is a service (apps/<name>/src/service.ts). */
  apps: string[];
  /** Each service's HTTP port (libs/testing SERVICES). */
  ports: Record<string, number>;
  /** Secrets created outside the manifests (by people, or by an operator), which references may name. */
  externalSecrets: string[];
  /** Production: images pinned to a version, no Secret values in the manifests. */
  production: boolean;
}

/** The only ports a service pod may open connections to: DNS, NATS and Postgres. */
const SERVICE_EGRESS_PORTS = new Set([53, 4222, 5432]);
const PUBLIC_PORTS: Record<string, number> = { gateway: 4000 };
const PART_OF = 'app.kubernetes.io/part-of';

type Labels = Record<string, string>;
type Workload = { object: KubernetesObject; template: IPodTemplateSpec };

// The policies run on objects that passed schema validation, so the typed views below are sound.
function ofKind<T>(objects: KubernetesObject[], kind: string): (T & KubernetesObject)[] {
  return objects.filter((object) => object.kind === kind) as (T & KubernetesObject)[];
}

function selects(selector: Labels | undefined, labels: Labels | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** Pod templates of everything that runs pods, with the object they belong to. */
export function workloads(objects: KubernetesObject[]): Workload[] {
  return objects.flatMap((object): Workload[] => {
    const spec = isJsonObject(object.spec) ? object.spec : undefined;
    if (['Deployment', 'StatefulSet', 'Job'].includes(object.kind) && isJsonObject(spec?.template)) {
      return [{ object, template: spec.template as IPodTemplateSpec }];
    }
    if (object.kind === 'CronJob' && isJsonObject(spec?.jobTemplate)) {
      const jobSpec = spec.jobTemplate.spec;
      if (isJsonObject(jobSpec) && isJsonObject(jobSpec.template)) return [{ object, template: jobSpec.template as IPodTemplateSpec }];
    }
    return [];
  });
}

function appDeployments(objects: KubernetesObject[]): (IDeployment & KubernetesObject)[] {
  return ofKind<IDeployment>(objects, 'Deployment').filter((deployment) => deployment.metadata.labels?.[PART_OF] === 'notebooks');
}

/** Every policy below; each problem names the object and what is wrong. */
export function policyProblems(objects: KubernetesObject[], context: PolicyContext): string[] {
  return [
    ...coverageProblems(objects, context),
    ...workloads(objects).flatMap((workload) => podSecurityProblems(workload)),
    ...appDeployments(objects).flatMap((deployment) => deploymentProblems(deployment, context)),
    ...selectorProblems(objects),
    ...autoscalingProblems(objects),
    ...networkProblems(objects),
    ...referenceProblems(objects, context),
    ...(context.production ? productionProblems(objects) : []),
  ];
}

function coverageProblems(objects: KubernetesObject[], context: PolicyContext): string[] {
  const problems: string[] = [];
  const named = (kind: string, name: string) => objects.some((object) => object.kind === kind && object.metadata.name === name);
  for (const app of context.apps) {
    if (!named('Deployment', app)) problems.push(`apps/${app} has no Deployment`);
    if (!named('Service', app)) problems.push(`apps/${app} has no Service`);
  }
  for (const deployment of appDeployments(objects)) {
    if (!context.apps.includes(deployment.metadata.name)) problems.push(`${objectId(deployment)}: no app of that name in apps/`);
  }
  return problems;
}

function podSecurityProblems({ object, template }: Workload): string[] {
  const id = objectId(object);
  const pod: IPodSpec | undefined = template.spec;
  if (!pod) return [`${id}: pod template has no spec`];
  const problems: string[] = [];
  if (pod.automountServiceAccountToken !== false) problems.push(`${id}: automountServiceAccountToken must be false (no pod talks to the Kubernetes API)`);
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push(`${id}: must not share the host's network, PID or IPC namespace`);
  if ((pod.volumes ?? []).some((volume) => volume.hostPath)) problems.push(`${id}: must not mount host paths`);
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    const where = `${id} container ${container.name}`;
    const security = container.securityContext ?? {};
    const runAsNonRoot = security.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
    const runAsUser = security.runAsUser ?? pod.securityContext?.runAsUser;
    const seccomp = security.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
    if (runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot must be true`);
    if (runAsUser === 0) problems.push(`${where}: must not run as uid 0`);
    if (security.privileged) problems.push(`${where}: must not be privileged`);
    if (security.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation must be false`);
    if (security.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem must be true`);
    if (!security.capabilities?.drop?.includes('ALL')) problems.push(`${where}: must drop ALL capabilities`);
    if ((security.capabilities?.add ?? []).length > 0) problems.push(`${where}: must not add capabilities`);
    if (seccomp !== 'RuntimeDefault') problems.push(`${where}: seccompProfile must be RuntimeDefault`);
    problems.push(...resourceProblems(container, where));
  }
  return problems;
}

function resourceProblems(container: IContainer, where: string): string[] {
  const problems: string[] = [];
  for (const resource of ['cpu', 'memory']) {
    const request = container.resources?.requests?.[resource];
    const limit = container.resources?.limits?.[resource];
    if (request === undefined) problems.push(`${where}: no ${resource} request`);
    if (limit === undefined) problems.push(`${where}: no ${resource} limit`);
    if (request !== undefined && limit !== undefined && quantity(String(request)) > quantity(String(limit))) {
      problems.push(`${where}: ${resource} request ${request} exceeds its limit ${limit}`);
    }
  }
  return problems;
}

/** A Kubernetes quantity in base units (cores, bytes). */
export function quantity(text: string): number {
  const match = /^([0-9.]+)(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/.exec(text);
  if (!match) return Number.NaN;
  const factors: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(match[1]) * (match[2] ? factors[match[2]] : 1);
}

function deploymentProblems(deployment: IDeployment & KubernetesObject, context: PolicyContext): string[] {
  const id = objectId(deployment);
  const name = deployment.metadata.name;
  const pod = deployment.spec?.template.spec;
  if (!pod) return [`${id}: no pod spec`];
  const problems: string[] = [];
  if (pod.containers.length !== 1) problems.push(`${id}: one container per service pod (found ${pod.containers.length})`);
  const container = pod.containers[0];
  const port = context.ports[name];
  const http = container.ports?.find((candidate) => candidate.name === 'http');
  if (!http) problems.push(`${id}: no container port named http`);
  else if (http.containerPort !== port) problems.push(`${id}: container port ${http.containerPort}, but ${name} serves on ${port}`);
  const portEnv = container.env?.find((variable) => variable.name === 'PORT');
  if (portEnv?.value !== String(port)) problems.push(`${id}: PORT must be ${port} (got ${portEnv?.value ?? 'nothing'})`);
  const command = [...(container.command ?? []), ...(container.args ?? [])].join(' ');
  if (command !== `node dist/apps/${name}/src/main.js`) problems.push(`${id}: must run node dist/apps/${name}/src/main.js (runs "${command}")`);

  const probes: [string, IProbe | undefined, string][] = [
    ['startupProbe', container.startupProbe, '/health/live'],
    ['readinessProbe', container.readinessProbe, '/health/ready'],
    ['livenessProbe', container.livenessProbe, '/health/live'],
  ];
  for (const [kind, probe, path] of probes) {
    if (!probe) problems.push(`${id}: no ${kind}`);
    else if (probe.httpGet?.path !== path) problems.push(`${id}: ${kind} must GET ${path}`);
    else if (probe.httpGet.port !== 'http' && probe.httpGet.port !== port) problems.push(`${id}: ${kind} must use the http port`);
  }

  const tmpMount = container.volumeMounts?.find((mount) => mount.mountPath === '/tmp');
  const tmpVolume = pod.volumes?.find((volume) => volume.name === tmpMount?.name);
  if (!tmpVolume?.emptyDir) problems.push(`${id}: /tmp must be a writable emptyDir (the root filesystem is read-only)`);
  if (context.production && !pinnedImage(container.image ?? '')) problems.push(`${id}: image ${container.image} must name a version (a tag other than latest, or a digest)`);
  return problems;
}

function pinnedImage(image: string): boolean {
  const name = image.split('/').pop() ?? '';
  return /@sha256:[0-9a-f]{64}$/.test(image) || (/:[\w][\w.-]*$/.test(name) && !name.endsWith(':latest'));
}

/** Seconds the container waits in preStop before SIGTERM. */
export function preStopSeconds(container: IContainer): number {
  const command = container.lifecycle?.preStop?.exec?.command;
  if (command?.[0] === 'sleep') return Number(command[1]);
  return container.lifecycle?.preStop?.sleep?.seconds ?? 0;
}

function selectorProblems(objects: KubernetesObject[]): string[] {
  const problems: string[] = [];
  const deployments = appDeployments(objects);
  const podLabels = (deployment: IDeployment) => deployment.spec?.template.metadata?.labels;
  const selecting = (selector: Labels | undefined) => deployments.filter((deployment) => selects(selector, podLabels(deployment)));

  for (const deployment of deployments) {
    const selector = deployment.spec?.selector;
    if (selector?.matchExpressions) problems.push(`${objectId(deployment)}: matchExpressions are not checked; use matchLabels`);
    if (!selects(selector?.matchLabels, podLabels(deployment))) problems.push(`${objectId(deployment)}: selector does not match its pod template's labels`);
    const overlapping = selecting(selector?.matchLabels).filter((other) => other !== deployment);
    if (overlapping.length > 0) problems.push(`${objectId(deployment)}: selector also matches the pods of ${overlapping.map(objectId).join(', ')}`);
  }
  for (const service of ofKind<IService>(objects, 'Service').filter((s) => s.metadata.labels?.[PART_OF] === 'notebooks')) {
    const selected = selecting(service.spec?.selector);
    if (selected.length !== 1 || selected[0].metadata.name !== service.metadata.name) {
      problems.push(`${objectId(service)}: selector must match exactly the pods of Deployment ${service.metadata.name} (matches ${selected.map(objectId).join(', ') || 'nothing'})`);
      continue;
    }
    const container = selected[0].spec?.template.spec?.containers[0];
    for (const port of service.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      if (!container?.ports?.some((candidate) => candidate.name === target || candidate.containerPort === target)) {
        problems.push(`${objectId(service)}: targetPort ${target} is not a port of its pods`);
      }
    }
  }
  for (const budget of ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget')) {
    const selected = selecting(budget.spec?.selector?.matchLabels);
    if (selected.length !== 1) problems.push(`${objectId(budget)}: selector must match the pods of exactly one Deployment (matches ${selected.length})`);
    if (budget.spec?.maxUnavailable === undefined && budget.spec?.minAvailable === undefined) problems.push(`${objectId(budget)}: sets neither maxUnavailable nor minAvailable`);
    if (budget.spec?.maxUnavailable === 0 || budget.spec?.maxUnavailable === '0%') problems.push(`${objectId(budget)}: maxUnavailable 0 blocks every node drain`);
  }
  return problems;
}

/** Each Deployment's autoscaler, if any, and the replica range it allows. */
export function replicaRanges(objects: KubernetesObject[]): Map<string, { min: number; max: number; by: string[] }> {
  const ranges = new Map<string, { min: number; max: number; by: string[] }>();
  for (const deployment of appDeployments(objects)) {
    const replicas = deployment.spec?.replicas ?? 1;
    ranges.set(deployment.metadata.name, { min: replicas, max: replicas, by: [] });
  }
  for (const hpa of ofKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler')) {
    const range = ranges.get(hpa.spec?.scaleTargetRef.name ?? '');
    if (range) Object.assign(range, { min: hpa.spec?.minReplicas ?? 1, max: hpa.spec?.maxReplicas ?? 1, by: [...range.by, objectId(hpa)] });
  }
  for (const scaled of ofKind<IScaledObject>(objects, 'ScaledObject')) {
    const range = ranges.get(scaled.spec?.scaleTargetRef.name ?? '');
    if (range) Object.assign(range, { min: scaled.spec?.minReplicaCount ?? 0, max: scaled.spec?.maxReplicaCount ?? 100, by: [...range.by, objectId(scaled)] });
  }
  return ranges;
}

function autoscalingProblems(objects: KubernetesObject[]): string[] {
  const problems: string[] = [];
  const deployments = new Map(appDeployments(objects).map((deployment) => [deployment.metadata.name, deployment]));
  const targets = [
    ...ofKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler').map((hpa) => ({ object: hpa, ref: hpa.spec?.scaleTargetRef })),
    ...ofKind<IScaledObject>(objects, 'ScaledObject').map((scaled) => ({ object: scaled, ref: scaled.spec?.scaleTargetRef })),
  ];
  for (const { object, ref } of targets) {
    if (!ref || ref.kind !== 'Deployment' || ref.apiVersion !== 'apps/v1' || !deployments.has(ref.name)) {
      problems.push(`${objectId(object)}: scaleTargetRef must name a Deployment (apps/v1) in these manifests`);
    }
  }
  for (const hpa of ofKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler')) {
    if ((hpa.spec?.minReplicas ?? 1) > (hpa.spec?.maxReplicas ?? 0)) problems.push(`${objectId(hpa)}: minReplicas exceeds maxReplicas`);
  }
  const budgets = ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget');
  for (const [name, range] of replicaRanges(objects)) {
    const deployment = deployments.get(name);
    if (!deployment) continue;
    if (range.by.length > 1) problems.push(`Deployment ${name}: scaled by ${range.by.join(' and ')}; two autoscalers fight over one replica count`);
    if (range.by.length === 1 && deployment.spec?.replicas !== undefined) {
      problems.push(`${objectId(deployment)}: sets replicas although ${range.by[0]} owns the count (every apply would reset it)`);
    }
    const podLabels = deployment.spec?.template.metadata?.labels;
    if ((range.max > 1 || range.by.length > 0) && !budgets.some((budget) => selects(budget.spec?.selector?.matchLabels, podLabels))) {
      problems.push(`${objectId(deployment)}: runs several replicas (or is autoscaled) without a PodDisruptionBudget`);
    }
  }
  return problems;
}

/** NetworkPolicies that apply to pods with `labels`, for one direction. */
function policiesFor(objects: KubernetesObject[], labels: Labels | undefined, direction: 'Ingress' | 'Egress'): (INetworkPolicy & KubernetesObject)[] {
  return ofKind<INetworkPolicy>(objects, 'NetworkPolicy').filter((policy) => {
    const selector = policy.spec?.podSelector;
    const everyPod = !selector?.matchLabels && !selector?.matchExpressions;
    return (everyPod || selects(selector?.matchLabels, labels)) && (policy.spec?.policyTypes ?? ['Ingress']).includes(direction);
  });
}

function networkProblems(objects: KubernetesObject[]): string[] {
  const problems: string[] = [];
  const defaultDeny = ofKind<INetworkPolicy>(objects, 'NetworkPolicy').some(
    (policy) =>
      !policy.spec?.podSelector?.matchLabels &&
      !policy.spec?.podSelector?.matchExpressions &&
      (['Ingress', 'Egress'] as const).every((type) => policy.spec?.policyTypes?.includes(type)) &&
      !policy.spec?.ingress?.length &&
      !policy.spec?.egress?.length,
  );
  if (!defaultDeny) problems.push('no default-deny NetworkPolicy (every pod, ingress and egress, no rules)');

  for (const deployment of appDeployments(objects)) {
    const id = objectId(deployment);
    const labels = deployment.spec?.template.metadata?.labels;
    const egress = policiesFor(objects, labels, 'Egress').flatMap((policy) => (policy.spec?.egress ?? []).map((rule) => ({ policy, rule })));
    for (const { policy, rule } of egress) {
      const where = `${id} (through ${objectId(policy)})`;
      if (!rule.to?.length) problems.push(`${where}: egress to any destination`);
      if (rule.to?.some((peer) => peer.ipBlock)) problems.push(`${where}: egress to an ipBlock; service pods reach only labelled pods`);
      if (!rule.ports?.length) problems.push(`${where}: egress on every port`);
      for (const port of rule.ports ?? []) {
        if (!SERVICE_EGRESS_PORTS.has(Number(port.port))) problems.push(`${where}: egress on port ${port.port}; services only need DNS, NATS and Postgres`);
      }
    }
    for (const needed of [53, 4222, 5432]) {
      if (!egress.some(({ rule }) => rule.ports?.some((port) => port.port === needed))) problems.push(`${id}: no egress to port ${needed}, which it needs`);
    }
    const open = policiesFor(objects, labels, 'Ingress').flatMap((policy) => (policy.spec?.ingress ?? []).filter((rule) => !rule.from?.length).map((rule) => ({ policy, rule })));
    const publicPort = PUBLIC_PORTS[deployment.metadata.name];
    for (const { policy, rule } of open) {
      const ports = (rule.ports ?? []).map((port) => port.port);
      if (publicPort === undefined || ports.length === 0 || ports.some((port) => port !== publicPort)) {
        problems.push(`${id} (through ${objectId(policy)}): open to any source on ${ports.join(', ') || 'every port'}; only the gateway is public, on 4000`);
      }
    }
    if (publicPort !== undefined && !open.some(({ rule }) => rule.ports?.some((port) => port.port === publicPort))) {
      problems.push(`${id}: no ingress on ${publicPort}, where it serves the public`);
    }
  }
  return problems;
}

function referenceProblems(objects: KubernetesObject[], context: PolicyContext): string[] {
  const problems: string[] = [];
  const exists = (kind: string, name: string) => objects.some((object) => object.kind === kind && object.metadata.name === name);
  for (const { object, template } of workloads(objects)) {
    for (const container of template.spec?.containers ?? []) {
      const where = `${objectId(object)} container ${container.name}`;
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef && !exists('ConfigMap', source.configMapRef.name ?? '')) problems.push(`${where}: ConfigMap ${source.configMapRef.name} does not exist`);
        if (source.secretRef) problems.push(`${where}: envFrom a Secret hides which variables it sets; reference keys one by one`);
      }
      for (const variable of container.env ?? []) {
        const secret = variable.valueFrom?.secretKeyRef;
        if (secret && !secret.optional && !exists('Secret', secret.name ?? '') && !context.externalSecrets.includes(secret.name ?? '')) {
          problems.push(`${where}: ${variable.name} reads Secret ${secret.name}, which neither these manifests nor deploy/README.md provide`);
        }
      }
    }
  }
  return problems;
}

function productionProblems(objects: KubernetesObject[]): string[] {
  return ofKind<ISecret>(objects, 'Secret').map((secret) => `${objectId(secret)}: production manifests carry no secret values; reference Secrets created out of band`);
}

/** Sample values for secrets the manifests only reference; everything else comes from the manifests themselves. */
export type SecretSamples = Record<string, string>;

/**
 * The environment each service Deployment's container gets: its ConfigMaps, its values, and its
 * Secret references (resolved from Secrets in the manifests, else from `samples` by variable name,
 * and left unset when an optional Secret is absent). What Kubernetes injects on its own
 * (service links are disabled) is not part of it.
 */
export function deploymentEnvironments(objects: KubernetesObject[], samples: SecretSamples, externalSecrets: string[], label: string): EnvironmentUnderTest[] {
  const configMaps = new Map(ofKind<IConfigMap>(objects, 'ConfigMap').map((map) => [map.metadata.name, map.data ?? {}]));
  const secrets = new Map(
    ofKind<ISecret>(objects, 'Secret').map((secret) => [
      secret.metadata.name,
      { ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')])), ...(secret.stringData ?? {}) },
    ]),
  );
  return appDeployments(objects).map((deployment) => {
    const container = deployment.spec?.template.spec?.containers[0];
    const env: Record<string, string> = {};
    for (const source of container?.envFrom ?? []) Object.assign(env, configMaps.get(source.configMapRef?.name ?? '') ?? {});
    for (const variable of container?.env ?? []) {
      const secret = variable.valueFrom?.secretKeyRef;
      const mapKey = variable.valueFrom?.configMapKeyRef;
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else if (mapKey) {
        const value = configMaps.get(mapKey.name ?? '')?.[mapKey.key];
        if (value !== undefined) env[variable.name] = value;
      } else if (secret) {
        const value = secrets.get(secret.name ?? '')?.[secret.key] ?? (externalSecrets.includes(secret.name ?? '') ? samples[variable.name] : undefined);
        if (value !== undefined) env[variable.name] = value;
      }
    }
    return { id: `${label} ${objectId(deployment)}`, service: deployment.metadata.name, env };
  });
}
