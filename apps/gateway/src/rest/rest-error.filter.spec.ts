import { Logger, type ArgumentsHost } from '@nestjs/common';
import { NoRespondersError } from '@nats-io/transport-node';
import { RpcException } from '@notebooks/platform';
import { z } from 'zod';
import { gatewayError, parseInput } from '../graphql/errors';
import { RestErrorFilter } from './rest-error.filter';

/** What the filter sent: status, headers and body. */
interface Sent {
  status?: number;
  headers: Record<string, string>;
  body?: unknown;
}

function answer(exception: unknown, url = '/api/notebooks'): Sent {
  const sent: Sent = { headers: {} };
  const reply = {
    header(name: string, value: string) {
      sent.headers[name] = value;
      return reply;
    },
    status(code: number) {
      sent.status = code;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => ({ url }), getResponse: () => reply }),
  } as unknown as ArgumentsHost;
  new RestErrorFilter().catch(exception, host);
  return sent;
}

describe(RestErrorFilter.name, () => {
  it('answers a service\'s error with its code as HTTP status, message and details', () => {
    expect(answer(new RpcException('CONFLICT', 'the notebook changed meanwhile', { currentVersion: 7 }))).toEqual({
      status: 409,
      headers: {},
      body: { error: { code: 'CONFLICT', message: 'the notebook changed meanwhile', currentVersion: 7 } },
    });
    expect(answer(new RpcException('FORBIDDEN', 'only the owner may delete')).status).toBe(403);
    expect(answer(new RpcException('NOT_FOUND', 'notebook not found')).status).toBe(404);
  });

  it("answers the gateway's own checks as GraphQL reports them, without GraphQL's http extension", () => {
    const unauthenticated = answer(gatewayError('UNAUTHENTICATED', 'sign in first'));
    expect(unauthenticated).toEqual({ status: 401, headers: { 'www-authenticate': 'Bearer' }, body: { error: { code: 'UNAUTHENTICATED', message: 'sign in first' } } });
    const applied = answer(gatewayError('UNAVAILABLE', 'read it again shortly', { applied: true, version: 3 }));
    expect(applied).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE', applied: true, version: 3 } } });
    const tooLarge = (() => {
      try {
        return parseInput(z.object({ value: z.string().refine((v) => v.length < 3, { params: { code: 'PAYLOAD_TOO_LARGE' } }) }), { value: 'long' });
      } catch (error) {
        return answer(error);
      }
    })();
    expect(tooLarge).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
  });

  it('says when to retry a rate-limited request, in whole seconds', () => {
    const limited = answer(new RpcException('RATE_LIMITED', 'too many attempts', { retryAfterSeconds: 12.2 }));
    expect(limited).toEqual({
      status: 429,
      headers: { 'retry-after': '13' },
      body: { error: { code: 'RATE_LIMITED', message: 'too many attempts', retryAfterSeconds: 12.2 } },
    });
  });

  it('answers UNAVAILABLE when a dependency does not answer', () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementationOnce(() => undefined);
    expect(answer(new NoRespondersError('rpc.execution.run-cell'))).toEqual({
      status: 503,
      headers: {},
      body: { error: { code: 'UNAVAILABLE', message: 'a service this needs is unavailable; retry shortly' } },
    });
  });

  it('answers anything unexpected with a bare 500: no message, stack or internal detail, which only the log gets', () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const secret = new Error('password authentication failed for user "postgres" at /srv/app/db.ts:12');
    const internal = new RpcException('INTERNAL_SERVER_ERROR', 'relation "auth.users" does not exist');
    for (const exception of [secret, internal, new z.ZodError([]), 'a thrown string']) {
      expect(answer(exception)).toEqual({ status: 500, headers: {}, body: { error: { code: 'INTERNAL_SERVER_ERROR', message: 'internal error' } } });
    }
    expect(logged).toHaveBeenCalledWith({ err: secret }, 'unexpected HTTP error');
    logged.mockRestore();
  });

  it('keeps the status of HTTP errors raised before a route runs', () => {
    expect(answer(Object.assign(new Error('Unsupported Media Type'), { statusCode: 415 }))).toMatchObject({ status: 415, body: { error: { code: 'BAD_USER_INPUT' } } });
  });
});
