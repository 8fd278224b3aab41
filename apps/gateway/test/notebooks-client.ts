import { randomUUID } from 'node:crypto';
import { errorCode, graphql, type GraphqlResponse } from './graphql-client';

/** The notebook fields specs look at. */
export const NOTEBOOK_FIELDS = `id title description visibility version myRole createdAt updatedAt
  owner { id email displayName }
  cells { id kind value position isClosed name references }
  collaborators { role user { id email } }
  forkedFrom { id }`;

export interface NotebookView {
  id: string;
  title: string;
  description: string | null;
  visibility: 'PRIVATE' | 'PUBLIC';
  version: number;
  myRole: 'OWNER' | 'EDITOR' | 'VIEWER' | null;
  createdAt: string;
  updatedAt: string;
  owner: { id: string; email: string; displayName: string };
  cells: { id: string; kind: string; value: string; position: number; isClosed: boolean; name: string | null; references: string[] }[];
  collaborators: { role: string; user: { id: string; email: string } }[];
  forkedFrom: { id: string } | null;
}

export interface NotebookChangeView {
  notebookId: string;
  version: number;
  cellId: string | null;
  notebook: NotebookView;
}

export const CHANGE_FIELDS = `notebookId version cellId notebook { ${NOTEBOOK_FIELDS} }`;

export interface TestUser {
  id: string;
  email: string;
  token: string;
  headers: Record<string, string>;
}

/** A GraphQL client of one gateway, acting as registered users or anonymously. */
export class NotebooksClient {
  constructor(private readonly gateway: string) {}

  async register(name = 'Ada'): Promise<TestUser> {
    const email = `${name.toLowerCase()}.${randomUUID().slice(0, 8)}@example.com`;
    const response = await graphql<{ register: { accessToken: string; user: { id: string } } }>(
      this.gateway,
      'mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }',
      { input: { email, password: 'correct horse battery', displayName: name } },
    );
    if (!response.data?.register) throw new Error(`register failed: ${JSON.stringify(response.errors)}`);
    const { accessToken, user } = response.data.register;
    return { id: user.id, email, token: accessToken, headers: { authorization: `Bearer ${accessToken}` } };
  }

  run<T = Record<string, unknown>>(as: TestUser | null, query: string, variables: Record<string, unknown> = {}): Promise<GraphqlResponse<T>> {
    return graphql<T>(this.gateway, query, variables, as?.headers ?? {});
  }

  /** Runs a mutation answering a NotebookChange; throws on an error, so specs read as the happy path. */
  async change(as: TestUser, mutation: string, args: string, variables: Record<string, unknown>): Promise<NotebookChangeView> {
    const response = await this.run<Record<string, NotebookChangeView>>(as, `mutation(${args}) { result: ${mutation} { ${CHANGE_FIELDS} } }`, variables);
    const result = response.data?.['result'];
    if (!result) throw new Error(`${mutation} failed: ${errorCode(response)} ${JSON.stringify(response.errors)}`);
    return result;
  }

  createNotebook(as: TestUser, input: { title: string; description?: string | null; visibility?: 'PRIVATE' | 'PUBLIC' }, idempotencyKey?: string) {
    return this.change(as, 'createNotebook(input: $input, idempotencyKey: $key)', '$input: CreateNotebookInput!, $key: String', { input, key: idempotencyKey });
  }

  addCell(as: TestUser, notebookId: string, input: { kind?: string; value?: string; position?: number } = {}) {
    return this.change(as, 'addCell(notebookId: $id, input: $input)', '$id: ID!, $input: AddCellInput!', { id: notebookId, input });
  }

  share(as: TestUser, notebookId: string, email: string, role: 'EDITOR' | 'VIEWER') {
    return this.change(as, 'shareNotebook(id: $id, email: $email, role: $role)', '$id: ID!, $email: String!, $role: Role!', { id: notebookId, email, role });
  }

  async notebook(as: TestUser | null, id: string, minVersion?: number): Promise<NotebookView | null> {
    const response = await this.run<{ notebook: NotebookView | null }>(as, `query($id: ID!, $min: Int) { notebook(id: $id, minVersion: $min) { ${NOTEBOOK_FIELDS} } }`, { id, min: minVersion });
    if (response.errors) throw new Error(`notebook failed: ${JSON.stringify(response.errors)}`);
    return response.data?.notebook ?? null;
  }
}

/** Every field of `CellOutput`. */
export const OUTPUT_FIELDS = 'status display value html error durationMs notebookVersion executedAt';

/** A `CellOutput` as the gateway answers it. */
export interface OutputView {
  status: 'OK' | 'ERROR' | 'TIMEOUT';
  display: string | null;
  value: unknown;
  html: string | null;
  error: string | null;
  durationMs: number;
  notebookVersion: number;
  executedAt: string;
}
