import {
  CellKind,
  CellOutput,
  ErrorCode,
  NotebookCommandInput,
  NotebookCommandRequest,
  RefreshRequest,
  RegisterRequest,
  LoginRequest,
  SearchLimits,
  SearchRequest,
  Visibility,
} from '@notebooks/contracts';
import { z } from 'zod';
import { NotebookPageLimits } from '../notebooks/notebook-queries';

/*
 * The REST facade's inputs and answers as zod schemas: controllers validate with them and the
 * OpenAPI document is generated from them. Fields of commands and requests reuse the contracts'
 * schemas, so REST refuses exactly what GraphQL and the services behind refuse.
 */

/** The contract's schema of one notebook command, to borrow its fields. */
function command<T extends NotebookCommandInput['type']>(type: T) {
  const schema = NotebookCommandInput.options.find((option) => option.shape.type.value === type);
  if (!schema) throw new Error(`the notebook contract has no ${type} command`);
  return schema as Extract<(typeof NotebookCommandInput.options)[number], { shape: { type: z.ZodLiteral<T> } }>;
}

/** A whole number in a query string (`?first=20`), checked as a number. */
function queryInteger<S extends z.ZodNumber>(schema: S) {
  return z.preprocess((value) => (typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value), schema);
}

const Id = z.uuid();
const Timestamp = z.iso.datetime();
const Version = z.number().int().min(0);
const Role = z.enum(['OWNER', 'EDITOR', 'VIEWER']);

export const IdParams = z.strictObject({ id: Id.meta({ description: 'A notebook or cell id (UUID).' }) });

const IdempotencyKey = NotebookCommandRequest.shape.idempotencyKey;
const ExpectedVersion = NotebookCommandRequest.shape.expectedVersion.meta({
  description: 'The notebook version the change was made against; another current version is a 409 CONFLICT. Same as the `If-Match` header.',
});

/** `If-Match: "3"` (or `3`): the notebook version a change expects, as ETag gives it; `*` expects nothing. */
const IfMatch = z
  .string()
  .trim()
  .regex(/^(\*|"\d{1,9}"|\d{1,9})$/, 'must be the notebook version the change expects, e.g. "3" as the ETag gave it')
  .transform((value) => (value === '*' ? undefined : Number(value.replaceAll('"', ''))))
  .meta({ description: 'The notebook version the change expects (the ETag of what the client read); another current version is a 409 CONFLICT.' });

/** Headers of a change to a notebook or its cells. */
export const ChangeHeaders = z.object({
  'If-Match': IfMatch.optional(),
  'Idempotency-Key': IdempotencyKey.meta({ description: "Repeating a key (per user) answers the first request's result and changes nothing again." }),
});
/** Headers of a request that creates something: there is no version to expect yet. */
export const CreateHeaders = ChangeHeaders.pick({ 'Idempotency-Key': true });

const Create = command('CreateNotebook').shape;
export const CreateNotebookBody = z
  .strictObject({ title: Create.title, description: Create.description.optional(), visibility: Create.visibility.default('PRIVATE') })
  .meta({ id: 'CreateNotebookInput' });

const Update = command('UpdateNotebook').shape;
export const UpdateNotebookBody = z
  .strictObject({
    title: Update.title,
    description: Update.description.meta({ description: 'null clears it.' }),
    visibility: Update.visibility,
    expectedVersion: ExpectedVersion,
  })
  .meta({ id: 'UpdateNotebookInput', description: 'Fields left out stay as they are.' });

export const ExpectedVersionBody = z.strictObject({ expectedVersion: ExpectedVersion }).meta({ id: 'ExpectedVersionInput' });

const AddCell = command('AddCell').shape;
export const AddCellBody = z
  .strictObject({
    kind: AddCell.kind.default('JS'),
    value: AddCell.value.default('').meta({ description: 'The source; at most 256 KiB (UTF-8), else 413.' }),
    position: AddCell.position.meta({ description: '0-based; the end when left out.' }),
    expectedVersion: ExpectedVersion,
  })
  .meta({ id: 'AddCellInput' });

const UpdateCell = command('UpdateCell').shape;
export const UpdateCellBody = z
  .strictObject({
    value: UpdateCell.value,
    kind: UpdateCell.kind,
    isClosed: UpdateCell.isClosed,
    position: command('MoveCell').shape.position.optional().meta({ description: 'Moves the cell (0-based); only on its own, without other fields.' }),
    expectedVersion: ExpectedVersion,
  })
  .meta({ id: 'UpdateCellInput', description: 'Fields left out stay as they are.' });

/** A run takes no input; a body, if any, must be an empty object. */
export const RunCellBody = z.strictObject({}).optional();

export const NotebookListQuery = z.strictObject({
  scope: z.enum(['MINE', 'SHARED_WITH_ME', 'PUBLIC']).default('MINE').meta({ description: 'MINE and SHARED_WITH_ME need a signed-in caller.' }),
  first: queryInteger(z.number().int().min(0).max(NotebookPageLimits.maxFirst)).default(NotebookPageLimits.defaultFirst),
  after: z.string().optional().meta({ description: "The previous page's `pageInfo.endCursor`." }),
});

export const NotebookReadQuery = z.strictObject({
  minVersion: queryInteger(z.number().int().min(1))
    .optional()
    .meta({ description: 'Waits (bounded) until the notebook has at least this version: read-your-writes after a change made elsewhere.' }),
});

export const EventsQuery = z.strictObject({
  afterVersion: queryInteger(z.number().int().min(0)).default(0).meta({ description: 'Events after this version (the previous page’s `pageInfo.endVersion`).' }),
  first: queryInteger(z.number().int().min(0).max(NotebookPageLimits.maxHistoryFirst)).default(NotebookPageLimits.defaultHistoryFirst),
});

export const SearchQuery = z.strictObject({
  q: SearchRequest.shape.query.meta({ description: 'Words, "a phrase", or, -without; 1 to 500 characters.' }),
  first: queryInteger(z.number().int().min(1).max(SearchLimits.maxFirst)).default(SearchLimits.defaultFirst),
});

export const RegisterBody = RegisterRequest.omit({ clientAddress: true }).strict().meta({ id: 'RegisterInput' });
export const LoginBody = LoginRequest.omit({ clientAddress: true }).strict().meta({ id: 'LoginInput' });
export const RefreshTokenBody = RefreshRequest.strict().meta({ id: 'RefreshTokenInput' });

export const UserBody = z
  .object({
    id: Id,
    email: z.string().meta({ description: 'Shown to the user themselves and to members of the notebook they appear in; empty to anyone else.' }),
    displayName: z.string(),
    createdAt: Timestamp,
  })
  .meta({ id: 'User' });

export const CellOutputBody = CellOutput.omit({ cellId: true })
  .extend({ value: z.unknown().meta({ description: 'The value as JSON, when it has a JSON form and is small enough; null otherwise.' }) })
  .meta({ id: 'CellOutput', description: "A cell's execution result." });

export const CellBody = z
  .object({
    id: Id,
    notebookId: Id,
    notebookVersion: Version.meta({ description: 'The notebook version this cell is shown at (the ETag of the answer).' }),
    kind: CellKind,
    value: z.string(),
    position: z.number().int().min(0),
    isClosed: z.boolean(),
    name: z.string().nullable().meta({ description: 'The name the cell defines, if any (e.g. `x` for `x = 1`).' }),
    references: z.array(z.string()).meta({ description: 'Names the cell references.' }),
    output: CellOutputBody.nullable().meta({ description: 'The latest execution result; null until the cell has run.' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Cell' });

export const NotebookSummaryBody = z
  .object({
    id: Id,
    title: z.string(),
    description: z.string().nullable(),
    visibility: Visibility,
    version: Version.meta({ description: "Number of events in the notebook's history (the ETag of answers about it)." }),
    myRole: Role.nullable().meta({ description: "The caller's role; null for a public notebook the caller has no role in." }),
    owner: UserBody,
    forkedFromId: Id.nullable().meta({ description: 'The notebook this one was forked from; null when none, or when the caller may not see it.' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'NotebookSummary' });

export const CollaboratorBody = z.object({ role: Role, user: UserBody }).meta({ id: 'Collaborator' });

export const NotebookBody = NotebookSummaryBody.extend({ cells: z.array(CellBody), collaborators: z.array(CollaboratorBody) }).meta({ id: 'Notebook' });

export const NotebookPageBody = z
  .object({
    notebooks: z.array(NotebookSummaryBody),
    totalCount: z.number().int().min(0),
    pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }),
  })
  .meta({ id: 'NotebookPage' });

export const CellListBody = z.object({ cells: z.array(CellBody) }).meta({ id: 'CellList' });

export const NotebookEventBody = z
  .object({
    notebookId: Id,
    version: Version.min(1).meta({ description: 'The notebook version after this event.' }),
    type: z.string().meta({ description: 'e.g. `cell.updated`.' }),
    occurredAt: Timestamp,
    actor: UserBody.nullable().meta({ description: 'Null for a system event or an actor the caller may not learn of.' }),
    data: z.unknown().meta({ description: "The event's data (current schema version)." }),
  })
  .meta({ id: 'NotebookEvent' });

export const NotebookEventPageBody = z
  .object({
    events: z.array(NotebookEventBody).meta({ description: 'Oldest first.' }),
    pageInfo: z.object({
      hasNextPage: z.boolean(),
      endVersion: Version.nullable().meta({ description: 'The version of the last event here: `afterVersion` of the next page.' }),
    }),
  })
  .meta({ id: 'NotebookEventPage' });

export const SearchResultBody = z
  .object({
    hits: z.array(
      z.object({
        notebook: NotebookSummaryBody,
        cellId: Id.nullable().meta({ description: 'The matching cell, when the match is in a cell.' }),
        snippet: z.string().meta({ description: 'Text around the match, HTML-escaped, with matches wrapped in <mark>…</mark>.' }),
        score: z.number(),
      }),
    ),
    total: z.number().int().min(0),
  })
  .meta({ id: 'SearchResult' });

export const AuthSessionBody = z
  .object({
    accessToken: z.string().meta({ description: 'Send as `Authorization: Bearer <accessToken>`.' }),
    refreshToken: z.string(),
    expiresAt: Timestamp.meta({ description: 'When the access token expires.' }),
    user: UserBody,
  })
  .meta({ id: 'AuthSession' });

export const ExecutionReportBody = z
  .object({
    notebookId: Id,
    notebookVersion: Version.min(1).meta({ description: 'The notebook version the run computed from.' }),
    durationMs: z.number().min(0),
    cells: z.array(CellBody).meta({ description: 'The cells the run reported (the one asked for, what it depends on, its dependents), in notebook order, each with its fresh output.' }),
  })
  .meta({ id: 'ExecutionReport' });

export const ErrorBody = z
  .object({
    error: z.looseObject({
      code: ErrorCode,
      message: z.string(),
      currentVersion: Version.optional().meta({ description: 'CONFLICT: the version the notebook has now.' }),
      retryAfterSeconds: z.number().optional().meta({ description: 'RATE_LIMITED: when to try again (also the Retry-After header).' }),
      applied: z.boolean().optional().meta({ description: 'UNAVAILABLE after a change: true when the change was made and only reading it back failed; do not resend it.' }),
    }),
  })
  .meta({ id: 'Error', description: 'Every failure: a contract error code, a message for people, and details such as currentVersion.' });

export type UserBody = z.infer<typeof UserBody>;
export type CellOutputBody = z.infer<typeof CellOutputBody>;
export type CellBody = z.infer<typeof CellBody>;
export type NotebookSummaryBody = z.infer<typeof NotebookSummaryBody>;
export type NotebookBody = z.infer<typeof NotebookBody>;
export type NotebookPageBody = z.infer<typeof NotebookPageBody>;
export type CellListBody = z.infer<typeof CellListBody>;
export type NotebookEventBody = z.infer<typeof NotebookEventBody>;
export type NotebookEventPageBody = z.infer<typeof NotebookEventPageBody>;
export type SearchResultBody = z.infer<typeof SearchResultBody>;
export type AuthSessionBody = z.infer<typeof AuthSessionBody>;
export type ExecutionReportBody = z.infer<typeof ExecutionReportBody>;
export type ErrorBody = z.infer<typeof ErrorBody>;
