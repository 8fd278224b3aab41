import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@notebooks/platform';
import { createTestInfra, type TestInfra } from '@notebooks/testing';
import { gatewayService } from '../service';
import { OPENAPI_PATH, restApiDocument } from './openapi';

type Document = ReturnType<typeof restApiDocument>;
type Method = 'get' | 'post' | 'put' | 'delete';

/** Every REST route: its success status and the error statuses it documents besides 500 and 503. */
const ROUTES: [Method, string, number, number[]][] = [
  ['get', '/api/notebooks', 200, [400, 401]],
  ['post', '/api/notebooks', 201, [400, 401, 413]],
  ['get', '/api/notebooks/search', 200, [400, 401]],
  ['get', '/api/notebooks/{id}', 200, [400, 401, 404]],
  ['put', '/api/notebooks/{id}', 200, [400, 401, 403, 404, 409, 413]],
  ['delete', '/api/notebooks/{id}', 204, [400, 401, 403, 404, 409]],
  ['get', '/api/notebooks/{id}/cells', 200, [400, 401, 404]],
  ['post', '/api/notebooks/{id}/cells', 201, [400, 401, 403, 404, 409, 413]],
  ['get', '/api/notebooks/{id}/events', 200, [400, 401, 404]],
  ['get', '/api/notebooks/{id}/events/stream', 200, [400, 401, 404]],
  ['get', '/api/events/stream', 200, [400, 401]],
  ['get', '/api/cells/{id}', 200, [400, 401, 404]],
  ['put', '/api/cells/{id}', 200, [400, 401, 403, 404, 409, 413]],
  ['delete', '/api/cells/{id}', 204, [400, 401, 403, 404, 409]],
  ['post', '/api/cells/{id}/execute', 200, [400, 401, 403, 404]],
  ['post', '/api/auth/register', 201, [400, 401, 429]],
  ['post', '/api/auth/login', 200, [400, 401, 429]],
  ['post', '/api/auth/refresh', 200, [400, 401]],
  ['post', '/api/auth/logout', 204, [400, 401]],
  ['get', OPENAPI_PATH, 200, []],
];

/** Served by the realtime module, which may not be part of the gateway yet: documented either way. */
const EVENT_STREAMS = ['get /api/notebooks/{id}/events/stream', 'get /api/events/stream'];

/** `/api/notebooks/:id` as OpenAPI writes it. */
const asOpenApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

function operations(document: Document): string[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    (['get', 'post', 'put', 'delete', 'patch'] as const).filter((method) => item[method] !== undefined).map((method) => `${method} ${path}`),
  );
}

function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => (key === '$ref' && typeof inner === 'string' ? [inner] : refs(inner)));
}

describe('the OpenAPI document of the REST routes', () => {
  let infra: TestInfra;
  let app: NestFastifyApplication;
  /** `method path` of every route the whole gateway registers, as Fastify saw them. */
  const registered: string[] = [];
  const document = restApiDocument();

  beforeAll(async () => {
    infra = await createTestInfra();
    const config = loadConfig(gatewayService.name, gatewayService.env, infra.serviceEnv());
    const adapter = new FastifyAdapter();
    adapter.getInstance().addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) registered.push(`${method.toLowerCase()} ${asOpenApiPath(route.url)}`);
    });
    app = await NestFactory.create<NestFastifyApplication>(gatewayService.module(config), adapter, { logger: false, abortOnError: false });
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await infra.dispose();
  });

  it('documents every route the gateway serves under /api, and the gateway serves every route it documents', () => {
    const served = registered.filter((route) => / \/api\//.test(route) && !route.startsWith('head ') && !route.startsWith('options '));
    expect(served).toEqual(expect.arrayContaining(['get /api/notebooks/{id}', 'post /api/cells/{id}/execute', 'post /api/auth/logout']));
    expect(served.filter((route) => !operations(document).includes(route))).toEqual([]);
    expect(operations(document).filter((route) => !served.includes(route) && !EVENT_STREAMS.includes(route))).toEqual([]);
  });

  it('serves the document it generates at /api/openapi.json', async () => {
    const response = await app.inject({ method: 'GET', url: OPENAPI_PATH });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('is OpenAPI 3.1 with every route, its parameters and each answer it can give', () => {
    expect(document).toMatchObject({ openapi: '3.1.0', info: { title: expect.any(String), version: expect.any(String) } });
    expect(operations(document).sort()).toEqual(ROUTES.map(([method, path]) => `${method} ${path}`).sort());
    for (const [method, path, success, errors] of ROUTES) {
      const operation = document.paths?.[path]?.[method];
      const name = `${method} ${path}`;
      const codes = [success, ...errors, ...(path === OPENAPI_PATH ? [] : [500, 503])].map(String).sort();
      expect({ name, responses: Object.keys(operation?.responses ?? {}).sort() }).toEqual({ name, responses: codes });
      const pathParameters = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      const declared = (operation?.parameters ?? []).flatMap((parameter) => ('in' in parameter && parameter.in === 'path' ? [[parameter.name, parameter.required]] : []));
      expect({ name, declared }).toEqual({ name, declared: pathParameters.map((parameter) => [parameter, true]) });
      const answer = operation?.responses?.[String(success)];
      if (success !== 204) expect({ name, content: Object.keys(answer?.content ?? {}) }).toEqual({ name, content: [path.endsWith('/stream') ? 'text/event-stream' : 'application/json'] });
      for (const error of errors) expect({ name, error, schema: operation?.responses?.[String(error)]?.content?.['application/json']?.schema }).toEqual({ name, error, schema: { $ref: '#/components/schemas/Error' } });
      expect({ name, summary: typeof operation?.summary }).toEqual({ name, summary: 'string' });
    }
  });

  it('asks for a bearer token on changes and runs, lets readers choose, and documents If-Match, Idempotency-Key and Last-Event-ID', () => {
    const security = (method: Method, path: string) => document.paths?.[path]?.[method]?.security;
    const headers = (method: Method, path: string) =>
      (document.paths?.[path]?.[method]?.parameters ?? []).flatMap((parameter) => ('in' in parameter && parameter.in === 'header' ? [parameter.name] : []));
    for (const [method, path] of ROUTES.filter(([, path]) => !path.startsWith('/api/auth/') && path !== OPENAPI_PATH)) {
      expect({ method, path, security: security(method, path) }).toEqual({ method, path, security: method === 'get' ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }] });
    }
    expect(document.components?.securitySchemes?.['bearerAuth']).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const path of ['/api/notebooks/{id}', '/api/cells/{id}']) {
      for (const method of ['put', 'delete'] as const) expect(headers(method, path)).toEqual(['If-Match', 'Idempotency-Key']);
    }
    expect(headers('post', '/api/notebooks')).toEqual(['Idempotency-Key']);
    expect(headers('get', '/api/notebooks/{id}/events/stream')).toEqual(['Last-Event-ID']);
    expect(headers('get', '/api/events/stream')).toEqual(['Last-Event-ID']);
    const streamQuery = (document.paths?.['/api/notebooks/{id}/events/stream']?.get?.parameters ?? []).flatMap((parameter) => ('in' in parameter && parameter.in === 'query' ? [parameter.name] : []));
    expect(streamQuery).toEqual(['afterVersion']);
  });

  it('refers only to schemas it defines, NotebookEvent and Error among them', () => {
    const schemas = Object.keys(document.components?.schemas ?? {});
    expect(schemas).toEqual(expect.arrayContaining(['Notebook', 'NotebookSummary', 'Cell', 'NotebookEvent', 'NotebookEventPage', 'SearchResult', 'AuthSession', 'ExecutionReport', 'Error']));
    const dangling = refs(document).filter((ref) => !schemas.includes(ref.replace('#/components/schemas/', '')));
    expect(dangling).toEqual([]);
    expect(refs(document).length).toBeGreaterThan(ROUTES.length);
  });
});
