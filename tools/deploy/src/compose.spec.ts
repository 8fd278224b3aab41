import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICES, WORKSPACE_ROOT } from '@notebooks/testing';
import { ComposeError, interpolateString, loadCompose, type ComposeProject } from './compose';
import { judgeEnvironments, platformApps, type ServiceSchemas } from './service-env';

const COMPOSE_FILE = join(WORKSPACE_ROOT, 'docker-compose.yml');
const INFRASTRUCTURE = ['nats', 'postgres'];
/** Read by the image (the Dockerfile's CMD picks the app), not by the service's schema. */
const IMAGE_VARIABLES = ['SERVICE'];
const PUBLIC = { gateway: 4000 } as Record<string, number>;

describe('docker-compose.yml', () => {
  const apps = platformApps();
  const ports = Object.fromEntries(SERVICES.map((service) => [service.name, service.port])) as Record<string, number>;
  const signingKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  let compose: ComposeProject;
  let schemas: ServiceSchemas;

  beforeAll(() => {
    // As `JWT_PRIVATE_KEY="$(cat jwt.pem)" docker compose up` would see it.
    compose = loadCompose(COMPOSE_FILE, { JWT_PRIVATE_KEY: signingKey });
    const environments = apps.map((app) => ({
      id: app,
      service: app,
      env: Object.fromEntries(Object.entries(compose.services[app]?.environment ?? {}).filter(([name]) => !IMAGE_VARIABLES.includes(name))),
    }));
    // The same judge must refuse a broken environment (judged in the same child process).
    const gateway = environments.find((environment) => environment.service === 'gateway');
    environments.push({ id: 'broken gateway', service: 'gateway', env: { ...gateway?.env, NATS_URL: 'http://nats:4222', GRAPHQL_MAX_DEPT: '5' } });
    schemas = judgeEnvironments(environments);
  });

  it('runs every app in apps/ (and only those, besides NATS and Postgres) from the image the Dockerfile builds', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...apps, ...INFRASTRUCTURE].sort());
    const images = new Set(apps.map((app) => compose.services[app].image));
    for (const app of apps) {
      expect([app, compose.services[app].build]).toEqual([app, { context: '.', dockerfile: 'Dockerfile' }]);
      expect([app, compose.services[app].environment.SERVICE]).toEqual([app, app]);
    }
    expect(images.size).toBe(1);
  });

  it("gives every service an environment its own schema accepts, with no variable it does not read", () => {
    const verdicts = schemas.verdicts.filter((verdict) => apps.includes(verdict.id));

    expect(verdicts.map((verdict) => verdict.id).sort()).toEqual(apps);
    for (const verdict of verdicts) expect(verdict).toMatchObject({ id: verdict.id, problems: [], unknown: [] });
    for (const verdict of verdicts) expect([verdict.id, verdict.config?.NODE_ENV]).toEqual([verdict.id, 'production']);
  });

  it('would notice a bad value and a misspelt variable', () => {
    expect(schemas.verdicts.find((verdict) => verdict.id === 'broken gateway')).toMatchObject({
      problems: ['NATS_URL: must be one or more comma-separated nats:// URLs (got "http://nats:4222")'],
      unknown: ['GRAPHQL_MAX_DEPT'],
    });
  });

  it("serves each app on its port from libs/testing SERVICES, which is also the app's default", () => {
    for (const verdict of schemas.verdicts.filter((candidate) => apps.includes(candidate.id))) {
      expect([verdict.id, verdict.config?.PORT]).toEqual([verdict.id, ports[verdict.id]]);
      expect([verdict.id, schemas.defaultPorts[verdict.id]]).toEqual([verdict.id, ports[verdict.id]]);
    }
  });

  it('starts each service once NATS and Postgres are healthy, and the gateway once every service is', () => {
    for (const app of apps) {
      const dependsOn = compose.services[app].dependsOn;
      for (const target of Object.keys(dependsOn)) {
        expect([app, target, compose.services[target] !== undefined]).toEqual([app, target, true]);
        expect([app, target, dependsOn[target]]).toEqual([app, target, 'service_healthy']);
      }
      expect([app, Object.keys(dependsOn)]).toEqual([app, expect.arrayContaining(INFRASTRUCTURE)]);
    }
    expect(Object.keys(compose.services.gateway.dependsOn).sort()).toEqual([...apps.filter((app) => app !== 'gateway'), ...INFRASTRUCTURE].sort());
  });

  it('has a health check for everything others wait on, and no start-order cycle', () => {
    const dockerfile = readFileSync(join(WORKSPACE_ROOT, 'Dockerfile'), 'utf8');
    for (const name of INFRASTRUCTURE) expect([name, compose.services[name].healthcheck?.test]).toEqual([name, expect.anything()]);
    // Built services inherit the image's HEALTHCHECK.
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\/health\/live/ms);

    const visiting = new Set<string>();
    const visit = (name: string, path: string[]): void => {
      if (path.includes(name)) throw new Error(`start-order cycle: ${[...path, name].join(' -> ')}`);
      if (visiting.has(name)) return;
      visiting.add(name);
      for (const target of Object.keys(compose.services[name].dependsOn)) visit(target, [...path, name]);
    };
    for (const name of Object.keys(compose.services)) visit(name, []);
  });

  it('publishes the gateway on 4000 and nothing else', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const expected = PUBLIC[name] === undefined ? [] : [{ published: String(PUBLIC[name]), target: String(PUBLIC[name]) }];
      expect([name, service.ports]).toEqual([name, expected]);
    }
  });

  it('keeps NATS (JetStream) and Postgres data in named volumes', () => {
    const nats = compose.services.nats;
    const command = (nats.command as string[]).join(' ');
    const storeDir = /--store_dir[ =](\S+)/.exec(command)?.[1];

    expect(command).toContain('--jetstream');
    expect(nats.volumes).toContain(`nats-data:${storeDir}`);
    expect(compose.services.postgres.volumes).toContain('postgres-data:/var/lib/postgresql/data');
    expect(compose.volumes).toEqual(expect.arrayContaining(['nats-data', 'postgres-data']));
  });

  it("gives each service longer to stop than its SHUTDOWN_TIMEOUT_MS, and no writable root or capabilities", () => {
    for (const verdict of schemas.verdicts.filter((candidate) => apps.includes(candidate.id))) {
      const service = compose.services[verdict.id];
      expect([verdict.id, (service.stopGracePeriodMs ?? 10_000) > (verdict.config?.SHUTDOWN_TIMEOUT_MS ?? Infinity)]).toEqual([verdict.id, true]);
      expect([verdict.id, service.raw.read_only, service.raw.cap_drop]).toEqual([verdict.id, true, ['ALL']]);
    }
  });

  it('refuses to start without a signing key for auth-service', () => {
    expect(() => loadCompose(COMPOSE_FILE, {})).toThrow(/JWT_PRIVATE_KEY/);
    expect(() => loadCompose(COMPOSE_FILE, {})).toThrow(ComposeError);
  });

  it('interpolates the way compose does', () => {
    const variables = { SET: 'x', EMPTY: '' };

    expect(interpolateString('$SET ${SET} ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${SET:+alt} ${UNSET+alt} $$SET', variables)).toBe('x x d d  alt  $SET');
    expect(() => interpolateString('${EMPTY:?needed}', variables)).toThrow('required variable EMPTY is missing a value: needed');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(WORKSPACE_ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trimStart().startsWith('#'));

  it('builds in one stage and runs in another, as a numeric non-root user', () => {
    const froms = instructions.filter((line) => line.startsWith('FROM '));
    const user = instructions.filter((line) => line.startsWith('USER ')).pop();

    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(user).toMatch(/^USER [1-9]\d*(:[1-9]\d*)?$/);
  });

  it('installs with npm install, not npm ci (npm 11 rejects its own lockfiles here, see .ci/run)', () => {
    expect(dockerfile).toMatch(/RUN npm install\b/);
    expect(instructions.join('\n')).not.toMatch(/npm ci\b/);
  });

  it("checks liveness on each service's port, with the same ports as libs/testing SERVICES", () => {
    const healthcheck = instructions.find((line) => line.startsWith('HEALTHCHECK ')) ?? '';
    const portMap = /const ports = (\{[^}]*\})/.exec(healthcheck)?.[1] ?? '{}';
    const ports = JSON.parse(portMap.replace(/'/g, '"')) as Record<string, number>;

    expect(healthcheck).toContain('/health/live');
    expect(healthcheck).toContain('process.env.PORT ||');
    expect(ports).toEqual(Object.fromEntries(SERVICES.map((service) => [service.name, service.port])));
  });

  it('runs the service as the main process, so it receives SIGTERM and drains', () => {
    expect(instructions.filter((line) => line.startsWith('CMD ')).pop()).toBe('CMD ["sh", "-c", "exec node dist/apps/${SERVICE}/src/main.js"]');
  });
});
