import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AccessTokens } from '../auth/access-tokens';
import { ReadLoadersFactory, type ReadLoaders } from '../notebooks/read-loaders';

/** Who is asking. */
export interface Viewer {
  userId: string;
}

/**
 * What every resolver gets: the authenticated viewer (null when anonymous), where the request came
 * from, and this request's batched read-model loaders.
 */
export interface GatewayContext {
  viewer: Viewer | null;
  clientAddress: string;
  loaders: ReadLoaders;
}

/** Makes a request's context, for GraphQL and REST alike: an `Authorization` header that does not verify is UNAUTHENTICATED. */
@Injectable()
export class GatewayContexts {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly loaders: ReadLoadersFactory,
  ) {}

  async create(request: FastifyRequest): Promise<GatewayContext> {
    const authorization = request.headers.authorization;
    const viewer = authorization ? await this.tokens.verify(authorization) : null;
    return { viewer, clientAddress: request.ip, loaders: this.loaders.create(viewer?.userId ?? null) };
  }
}
