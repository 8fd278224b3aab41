import request from 'supertest';

export interface GraphqlResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> & { code?: string } }[];
}

/** POSTs one GraphQL operation to the gateway at `baseUrl`, as a client would. */
export async function graphql<T = Record<string, unknown>>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphqlResponse<T>> {
  const response = await request(baseUrl).post('/graphql').set({ 'content-type': 'application/json', ...headers }).send({ query, variables });
  const body = response.body as { data?: T | null; errors?: GraphqlResponse['errors'] };
  return { status: response.status, data: body.data, errors: body.errors };
}

/** The `extensions.code` of the first error, if any. */
export function errorCode(response: GraphqlResponse): string | undefined {
  return response.errors?.[0]?.extensions?.code;
}
