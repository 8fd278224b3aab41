import { MapperKind, mapSchema, pruneSchema } from '@graphql-tools/utils';
import { createTestInfra, startServices, WORKSPACE_ROOT, type RunningServices, type TestInfra } from '@notebooks/testing';
import {
  buildClientSchema,
  buildSchema,
  findBreakingChanges,
  getIntrospectionQuery,
  GraphQLObjectType,
  lexicographicSortSchema,
  printSchema,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { errorCode, graphql } from '../../test/graphql-client';

const GATEWAY = join(WORKSPACE_ROOT, 'apps', 'gateway');
/** Contract fields not served yet, with the issue that brings each. */
const NOT_YET_SERVED = new Set<string>([
]);
const aliases = (n: number): string => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;

describe('the GraphQL endpoint', () => {
  let infra: TestInfra;
  let development: RunningServices;
  let production: RunningServices;
  let dev: string;
  let prod: string;

  beforeAll(async () => {
    infra = await createTestInfra();
    // No auth-service: the gateway stands alone, so calls that need it show UNAVAILABLE.
    [development, production] = await Promise.all([
      startServices(['gateway'], infra.serviceEnv()),
      startServices(['gateway'], infra.serviceEnv({ NODE_ENV: 'production', GRAPHQL_MAX_DEPTH: '1', GRAPHQL_MAX_COST: '20', GRAPHQL_MAX_ALIASES: '100' })),
    ]);
    dev = development.url('gateway');
    prod = production.url('gateway');
  });

  afterAll(async () => {
    await Promise.all([development?.stop(), production?.stop()]);
    await infra.dispose();
  });

  describe('serves the contract', () => {
    let served: GraphQLSchema;

    beforeAll(async () => {
      const response = await graphql<IntrospectionQuery>(dev, getIntrospectionQuery());
      served = buildClientSchema(response.data as IntrospectionQuery);
    });

    it('with no breaking change, apart from the fields whose issues are still open', () => {
      const contract = buildSchema(readFileSync(join(GATEWAY, 'contract', 'schema.graphql'), 'utf8'));
      const implemented = pruneSchema(
        mapSchema(contract, {
          [MapperKind.OBJECT_FIELD]: (field, name, typeName) => (NOT_YET_SERVED.has(`${typeName}.${name}`) ? null : field),
        }),
      );

      expect(findBreakingChanges(implemented, served)).toEqual([]);
      // The list shrinks as issues land: a field served already must leave it.
      const servedNow = [...NOT_YET_SERVED].filter((path) => {
        const [typeName = '', field = ''] = path.split('.');
        return field in ((served.getType(typeName) as GraphQLObjectType | undefined)?.getFields() ?? {});
      });
      expect(servedNow).toEqual([]);
    });

    it('as printed in the committed schema.graphql (UPDATE_SCHEMA=1 rewrites it)', () => {
      const file = join(GATEWAY, 'schema.graphql');
      const printed = `${printSchema(lexicographicSortSchema(served))}\n`;
      if (process.env.UPDATE_SCHEMA === '1') writeFileSync(file, printed);
      expect(readFileSync(file, 'utf8')).toBe(printed);
    });

    it('with a reference copy of the contract that matches the team\'s', () => {
      const shared = join(WORKSPACE_ROOT, '..', 'shared', 'contract', 'schema.graphql');
      if (!existsSync(shared)) return expect(existsSync(join(GATEWAY, 'contract', 'schema.graphql'))).toBe(true);
      expect(readFileSync(join(GATEWAY, 'contract', 'schema.graphql'), 'utf8')).toBe(readFileSync(shared, 'utf8'));
    });
  });

  describe('hardening', () => {
    it('limits aliases', async () => {
      expect((await graphql(dev, aliases(15))).errors).toBeUndefined();
      const response = await graphql(dev, aliases(16));
      expect(errorCode(response)).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toMatch(/Aliases limit/);
    });

    it('limits depth and cost', async () => {
      const typenames = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `t${i}: __typename`).join(' ')} }`;
      expect((await graphql(dev, '{ me { id } }')).errors).toBeUndefined();
      const deep = await graphql(prod, '{ me { id } }');
      expect({ code: errorCode(deep), message: deep.errors?.[0]?.message }).toEqual({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/depth limit of 1/) });

      expect((await graphql(prod, typenames(10))).errors).toBeUndefined();
      const costly = await graphql(prod, typenames(30));
      expect({ code: errorCode(costly), message: costly.errors?.[0]?.message }).toEqual({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/Cost limit of 20/) });
    });

    it('refuses batched operations', async () => {
      const response = await request(dev).post('/graphql').set('content-type', 'application/json').send([{ query: '{ me { id } }' }, { query: '{ me { id } }' }]);
      expect(response.status).toBe(400);
      expect(response.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    });

    it('blocks requests a browser could send cross-site (CSRF)', async () => {
      const simplePost = await request(dev).post('/graphql').set('content-type', 'text/plain').send(JSON.stringify({ query: '{ me { id } }' }));
      const simpleGet = await request(dev).get('/graphql').query({ query: '{ me { id } }' });
      for (const response of [simplePost, simpleGet]) {
        expect(response.status).toBe(400);
        expect(response.body.errors[0].message).toMatch(/Cross-Site Request Forgery/);
      }
      const preflighted = await request(dev).get('/graphql').set('apollo-require-preflight', 'true').query({ query: '{ me { id } }' });
      expect(preflighted.body).toEqual({ data: { me: null } });
    });

    it('refuses a body over 1 MiB with 413 and PAYLOAD_TOO_LARGE', async () => {
      const response = await request(dev)
        .post('/graphql')
        .set('content-type', 'application/json')
        .send({ query: '{ me { id } }', variables: { padding: 'x'.repeat(1024 * 1024) } });
      expect(response.status).toBe(413);
      expect(response.body).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    });

    it('answers malformed JSON and unknown routes in the contract\'s shape', async () => {
      const malformed = await request(dev).post('/graphql').set('content-type', 'application/json').send('{"query":');
      expect({ status: malformed.status, code: malformed.body.errors[0].extensions.code }).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
      const unknown = await request(dev).get('/nowhere');
      expect({ status: unknown.status, body: unknown.body }).toEqual({ status: 404, body: { error: { code: 'NOT_FOUND', message: expect.any(String) } } });
    });

    it('hides the schema in production: no introspection, no field suggestions', async () => {
      const introspection = await graphql(prod, '{ __schema { types { name } } }');
      expect(errorCode(introspection)).toBe('BAD_USER_INPUT');
      const typo = await graphql(prod, '{ mee }');
      expect(errorCode(typo)).toBe('BAD_USER_INPUT');
      expect(typo.errors?.[0]?.message).not.toMatch(/Did you mean/);
      expect((await graphql(dev, '{ mee { id } }')).errors?.[0]?.message).toMatch(/Did you mean "me"/);
    });
  });

  describe('when Postgres goes away', () => {
    it('is not ready, and its health answer says which check failed and why', async () => {
      const database = `${infra.namespace}_gone`;
      const admin = new Client({ connectionString: process.env['DATABASE_URL'] });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${database}"`);
        const url = new URL(infra.databaseUrl);
        url.pathname = `/${database}`;
        const lonely = await startServices(['gateway'], infra.serviceEnv({ DATABASE_URL: url.toString() }));
        try {
          expect((await request(lonely.url('gateway')).get('/health/ready')).status).toBe(200);
          await admin.query(`DROP DATABASE "${database}" WITH (FORCE)`);
          const response = await request(lonely.url('gateway')).get('/health/ready');
          expect(response.status).toBe(503);
          expect(response.body).toMatchObject({ status: 'error', error: { postgres: { status: 'down' } } });
        } finally {
          await lonely.stop();
        }
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
        await admin.end();
      }
    });
  });

  describe('when auth-service does not answer', () => {
    it('is UNAVAILABLE for logins and for tokens it cannot check, and never leaks internals', async () => {
      const login = await graphql(dev, 'mutation { login(input: { email: "a@b.co", password: "whatever it is" }) { accessToken } }');
      expect(errorCode(login)).toBe('UNAVAILABLE');
      expect(login.errors?.[0]?.message).toBe('a service this needs is unavailable; retry shortly');

      const unverifiable = `${b64({ alg: 'EdDSA', kid: 'k1' })}.${b64({ sub: 'x' })}.${'A'.repeat(86)}`;
      const me = await graphql(dev, '{ me { id } }', {}, { authorization: `Bearer ${unverifiable}` });
      expect(errorCode(me)).toBe('UNAVAILABLE');
    });
  });
});

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
