import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { ErrorCode } from '@notebooks/contracts';
import { z } from 'zod';
import { REST_STATUS } from './rest-error.filter';
import {
  AddCellBody,
  AuthSessionBody,
  CellBody,
  CellListBody,
  ChangeHeaders,
  CreateHeaders,
  CreateNotebookBody,
  ErrorBody,
  EventsQuery,
  ExecutionReportBody,
  ExpectedVersionBody,
  IdParams,
  LoginBody,
  NotebookBody,
  NotebookEventBody,
  NotebookEventPageBody,
  NotebookListQuery,
  NotebookPageBody,
  NotebookReadQuery,
  RefreshTokenBody,
  RegisterBody,
  RunCellBody,
  SearchQuery,
  SearchResultBody,
  UpdateCellBody,
  UpdateNotebookBody,
} from './rest.schemas';

/** Where the document is served. */
export const OPENAPI_PATH = '/api/openapi.json';

const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });

const ETag = z.string().meta({ description: 'The notebook version, quoted (`"3"`): send it back as `If-Match`.', example: '"3"' });
const Location = z.string().meta({ description: 'Where the created resource is read.' });

/** A success answer, with the headers it carries. */
function ok(description: string, schema?: z.ZodType, headers: Record<string, z.ZodType> = {}): ResponseConfig {
  return { description, ...(schema ? json(schema) : {}), ...(Object.keys(headers).length > 0 ? { headers: z.object(headers) } : {}) };
}

const ERROR_DESCRIPTIONS: Record<ErrorCode, string> = {
  BAD_USER_INPUT: 'BAD_USER_INPUT: the input is malformed or breaks a rule; nothing was changed.',
  UNAUTHENTICATED: 'UNAUTHENTICATED: sign in first, or the access token is not valid (any `Authorization` header sent must verify).',
  FORBIDDEN: "FORBIDDEN: the caller's role on this notebook does not allow the change.",
  NOT_FOUND: 'NOT_FOUND: absent, or not visible to the caller (never told apart).',
  CONFLICT: 'CONFLICT: the notebook is at another version than `If-Match`/`expectedVersion` said (`currentVersion` tells which); nothing was changed.',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE: the body is over 1 MiB, or a cell over 256 KiB.',
  RATE_LIMITED: 'RATE_LIMITED: too many attempts; `Retry-After` (and `retryAfterSeconds`) say when to try again.',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR: an unexpected failure; no details are given.',
  UNAVAILABLE: 'UNAVAILABLE: a service this needs is down or behind; safe to retry. After a change, `applied: true` means it was made and only reading it back failed.',
};

/** The error answers a route can give; every route may also answer 500 and 503. */
function failures(...codes: ErrorCode[]): Record<number, ResponseConfig> {
  const all = [...new Set<ErrorCode>([...codes, 'INTERNAL_SERVER_ERROR', 'UNAVAILABLE'])];
  return Object.fromEntries(
    all.map((code): [number, ResponseConfig] => [
      REST_STATUS[code],
      { description: ERROR_DESCRIPTIONS[code], ...json(ErrorBody), ...(code === 'RATE_LIMITED' ? { headers: z.object({ 'Retry-After': z.string().meta({ description: 'Seconds to wait.' }) }) } : {}) },
    ]),
  );
}

type Security = RouteConfig['security'];
/** How the event streams end (their errors once streaming, in the body of an `end` event rather than as a status). */
const STREAM_END =
  'Errors before the stream starts are answered like any other route; once it runs, a stream ends with `event: end` whose data is `{ code, message }`: NOT_FOUND when the caller loses access, UNAUTHENTICATED when the access token expires, UNAVAILABLE when the client reads too slowly.';

const bearer: Security = [{ bearerAuth: [] }];
/** Routes anyone may call; a bearer token, when sent, says who is asking (and must verify). */
const optionalBearer: Security = [{}, { bearerAuth: [] }];

/** Every REST route of the gateway, the Server-Sent-Events ones included. */
function routes(): RouteConfig[] {
  const notebookId = { params: IdParams };
  const cellId = { params: IdParams };
  return [
    {
      method: 'get',
      path: '/api/notebooks',
      tags: ['notebooks'],
      summary: 'A page of notebooks, newest first',
      security: optionalBearer,
      request: { query: NotebookListQuery },
      responses: { 200: ok('The page.', NotebookPageBody), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED') },
    },
    {
      method: 'post',
      path: '/api/notebooks',
      tags: ['notebooks'],
      summary: 'Create a notebook',
      security: bearer,
      request: { headers: CreateHeaders, body: { required: true, ...json(CreateNotebookBody) } },
      responses: {
        201: ok('The notebook as created (read-your-writes).', NotebookBody, { ETag, Location }),
        ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'PAYLOAD_TOO_LARGE'),
      },
    },
    {
      method: 'get',
      path: '/api/notebooks/search',
      tags: ['search'],
      summary: 'Full-text search over titles, descriptions and cell sources the caller may see',
      security: optionalBearer,
      request: { query: SearchQuery },
      responses: { 200: ok('Best matches first.', SearchResultBody), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED') },
    },
    {
      method: 'get',
      path: '/api/notebooks/{id}',
      tags: ['notebooks'],
      summary: 'A notebook with its cells and collaborators',
      security: optionalBearer,
      request: { ...notebookId, query: NotebookReadQuery },
      responses: { 200: ok('The notebook.', NotebookBody, { ETag }), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'NOT_FOUND') },
    },
    {
      method: 'put',
      path: '/api/notebooks/{id}',
      tags: ['notebooks'],
      summary: "Change a notebook's title, description or visibility",
      security: bearer,
      request: { ...notebookId, headers: ChangeHeaders, body: { required: true, ...json(UpdateNotebookBody) } },
      responses: {
        200: ok('The notebook as changed (read-your-writes).', NotebookBody, { ETag }),
        ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'PAYLOAD_TOO_LARGE'),
      },
    },
    {
      method: 'delete',
      path: '/api/notebooks/{id}',
      tags: ['notebooks'],
      summary: 'Delete a notebook (owner only)',
      security: bearer,
      request: { ...notebookId, headers: ChangeHeaders, body: { required: false, ...json(ExpectedVersionBody) } },
      responses: { 204: ok('Deleted.'), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT') },
    },
    {
      method: 'get',
      path: '/api/notebooks/{id}/cells',
      tags: ['cells'],
      summary: "A notebook's cells, in order",
      security: optionalBearer,
      request: { ...notebookId, query: NotebookReadQuery },
      responses: { 200: ok('The cells.', CellListBody, { ETag }), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'NOT_FOUND') },
    },
    {
      method: 'post',
      path: '/api/notebooks/{id}/cells',
      tags: ['cells'],
      summary: 'Add a cell',
      security: bearer,
      request: { ...notebookId, headers: ChangeHeaders, body: { required: false, ...json(AddCellBody) } },
      responses: {
        201: ok('The cell as added (read-your-writes).', CellBody, { ETag, Location }),
        ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'PAYLOAD_TOO_LARGE'),
      },
    },
    {
      method: 'get',
      path: '/api/notebooks/{id}/events',
      tags: ['history'],
      summary: "A page of a notebook's history, oldest first",
      security: optionalBearer,
      request: { ...notebookId, query: EventsQuery },
      responses: { 200: ok('The events.', NotebookEventPageBody), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'NOT_FOUND') },
    },
    {
      method: 'get',
      path: '/api/notebooks/{id}/events/stream',
      tags: ['history'],
      summary: "A notebook's events as they happen (Server-Sent Events)",
      description:
        'Each message is one `NotebookEvent` as JSON in `data:`, with `id:` its version. A reconnecting client sends `Last-Event-ID` (or `afterVersion`) and first receives the events it missed. ' +
        STREAM_END,
      security: optionalBearer,
      request: {
        ...notebookId,
        query: z.strictObject({ afterVersion: EventsQuery.shape.afterVersion.optional().meta({ description: 'Start after this version (replaying what came since).' }) }),
        headers: z.object({
          'Last-Event-ID': z
            .string()
            .regex(/^\d+$/)
            .optional()
            .meta({ description: 'The `id` (version) of the last message received: the stream resumes after it.' }),
        }),
      },
      responses: {
        200: {
          description: 'An endless `text/event-stream`; each `data:` is a NotebookEvent (see the schema of that name), each `id:` its version.',
          content: { 'text/event-stream': { schema: z.string().meta({ description: 'Server-Sent Events whose data are NotebookEvent JSON.' }) } },
        },
        ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'NOT_FOUND'),
      },
    },
    {
      method: 'get',
      path: '/api/events/stream',
      tags: ['history'],
      summary: 'Events of every notebook the caller may see, as they happen (Server-Sent Events)',
      description:
        'Each message is one `NotebookEvent` as JSON in `data:`, with `id:` `<sequence>:<version>`. A reconnecting client sends `Last-Event-ID` to resume after the last message it received. ' +
        STREAM_END,
      security: optionalBearer,
      request: {
        headers: z.object({
          'Last-Event-ID': z
            .string()
            .regex(/^\d+(:\d+)?$/)
            .optional()
            .meta({ description: 'The `id` of the last message received (`<sequence>:<version>`).' }),
        }),
      },
      responses: {
        200: {
          description: 'An endless `text/event-stream` of the events of notebooks visible to the caller; each `data:` is a NotebookEvent.',
          content: { 'text/event-stream': { schema: z.string().meta({ description: 'Server-Sent Events whose data are NotebookEvent JSON.' }) } },
        },
        ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED'),
      },
    },
    {
      method: 'get',
      path: '/api/cells/{id}',
      tags: ['cells'],
      summary: 'A cell by its id (its notebook is found by the gateway)',
      security: optionalBearer,
      request: cellId,
      responses: { 200: ok('The cell.', CellBody, { ETag }), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'NOT_FOUND') },
    },
    {
      method: 'put',
      path: '/api/cells/{id}',
      tags: ['cells'],
      summary: "Change a cell's source, kind or collapsed state, or move it",
      security: bearer,
      request: { ...cellId, headers: ChangeHeaders, body: { required: true, ...json(UpdateCellBody) } },
      responses: {
        200: ok('The cell as changed (read-your-writes).', CellBody, { ETag }),
        ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'PAYLOAD_TOO_LARGE'),
      },
    },
    {
      method: 'delete',
      path: '/api/cells/{id}',
      tags: ['cells'],
      summary: 'Delete a cell',
      security: bearer,
      request: { ...cellId, headers: ChangeHeaders, body: { required: false, ...json(ExpectedVersionBody) } },
      responses: { 204: ok('Deleted.', undefined, { ETag }), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT') },
    },
    {
      method: 'post',
      path: '/api/cells/{id}/execute',
      tags: ['cells'],
      summary: 'Run a cell (and what it depends on), then its dependents, in the sandbox',
      security: bearer,
      request: { ...cellId, body: { required: false, ...json(RunCellBody) } },
      responses: { 200: ok("Every reported cell's output, in notebook order.", ExecutionReportBody), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND') },
    },
    {
      method: 'post',
      path: '/api/auth/register',
      tags: ['auth'],
      summary: 'Create an account and sign in',
      security: [],
      request: { body: { required: true, ...json(RegisterBody) } },
      responses: { 201: ok('The new session.', AuthSessionBody), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'RATE_LIMITED') },
    },
    {
      method: 'post',
      path: '/api/auth/login',
      tags: ['auth'],
      summary: 'Sign in',
      security: [],
      request: { body: { required: true, ...json(LoginBody) } },
      responses: { 200: ok('The new session.', AuthSessionBody), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED', 'RATE_LIMITED') },
    },
    {
      method: 'post',
      path: '/api/auth/refresh',
      tags: ['auth'],
      summary: 'Exchange a refresh token for a new session (the old token stops working)',
      security: [],
      request: { body: { required: true, ...json(RefreshTokenBody) } },
      responses: { 200: ok('The new session.', AuthSessionBody), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED') },
    },
    {
      method: 'post',
      path: '/api/auth/logout',
      tags: ['auth'],
      summary: "End a session: its refresh token's family stops working",
      security: [],
      request: { body: { required: true, ...json(RefreshTokenBody) } },
      responses: { 204: ok('Signed out (also for a token that was not valid any more).'), ...failures('BAD_USER_INPUT', 'UNAUTHENTICATED') },
    },
    {
      method: 'get',
      path: OPENAPI_PATH,
      tags: ['meta'],
      summary: 'This document',
      security: [],
      responses: { 200: { description: 'The OpenAPI document of the REST routes.', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
    },
  ];
}

/** The OpenAPI 3.1 document of the REST facade, generated from the zod schemas its routes validate with. */
export function restApiDocument() {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from /api/auth/register, /api/auth/login or /api/auth/refresh.',
  });
  for (const route of routes()) registry.registerPath(route);
  // NotebookEvent also describes the messages of the event streams, which have no JSON schema of their own.
  return new OpenApiGeneratorV31([...registry.definitions, NotebookEventBody]).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Notebooks REST API',
      version: '1.0.0',
      description:
        'The REST facade of the notebooks gateway, over the same services as its GraphQL API, with the same authorization and error codes. Errors are `{ "error": { "code", "message", …details } }`.',
    },
  });
}
