import request from 'supertest';
import type { TestUser } from './notebooks-client';

export interface RestResponse<T = unknown> {
  status: number;
  body: T;
  headers: Record<string, string | undefined>;
}

export interface RestOptions {
  /** Who asks: a registered user's bearer token, or anonymous (null or left out). */
  as?: TestUser | null;
  /** A JSON body, sent with `content-type: application/json`. */
  body?: unknown;
  /** A body sent as it is, with the content type `headers` give. */
  raw?: string;
  headers?: Record<string, string>;
}

/** A client of the gateway's REST routes, as a program would call them. */
export class RestClient {
  constructor(private readonly gateway: string) {}

  get<T = unknown>(path: string, options: RestOptions = {}): Promise<RestResponse<T>> {
    return this.send<T>('get', path, options);
  }

  post<T = unknown>(path: string, options: RestOptions = {}): Promise<RestResponse<T>> {
    return this.send<T>('post', path, options);
  }

  put<T = unknown>(path: string, options: RestOptions = {}): Promise<RestResponse<T>> {
    return this.send<T>('put', path, options);
  }

  delete<T = unknown>(path: string, options: RestOptions = {}): Promise<RestResponse<T>> {
    return this.send<T>('delete', path, options);
  }

  private async send<T>(method: 'get' | 'post' | 'put' | 'delete', path: string, options: RestOptions): Promise<RestResponse<T>> {
    let call = request(this.gateway)[method](path).set({ ...(options.as?.headers ?? {}), ...(options.headers ?? {}) });
    if (options.body !== undefined) call = call.set('content-type', 'application/json').send(JSON.stringify(options.body));
    else if (options.raw !== undefined) call = call.send(options.raw);
    const response = await call;
    return { status: response.status, body: response.body as T, headers: response.headers as Record<string, string | undefined> };
  }
}
