import { Controller, HttpCode, Post, Req, UseFilters } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthSessions } from '../auth/auth-sessions';
import { GatewayContexts } from '../graphql/context';
import { parseInput } from '../graphql/errors';
import { RestErrorFilter } from './rest-error.filter';
import { LoginBody, RefreshTokenBody, RegisterBody, type AuthSessionBody } from './rest.schemas';

/**
 * `/api/auth`: accounts and sessions through auth-service, as GraphQL's `register`, `login`,
 * `refresh` and `logout`: same checks, same rate limits per client address (429 with Retry-After).
 * As on GraphQL, an `Authorization` header that does not verify is refused even here.
 */
@Controller('api/auth')
@UseFilters(RestErrorFilter)
export class AuthController {
  constructor(
    private readonly contexts: GatewayContexts,
    private readonly sessions: AuthSessions,
  ) {}

  @Post('register')
  @HttpCode(201)
  async register(@Req() request: FastifyRequest): Promise<AuthSessionBody> {
    const { clientAddress } = await this.contexts.create(request);
    return this.sessions.register(parseInput(RegisterBody, request.body), clientAddress);
  }

  @Post('login')
  @HttpCode(200)
  async login(@Req() request: FastifyRequest): Promise<AuthSessionBody> {
    const { clientAddress } = await this.contexts.create(request);
    return this.sessions.login(parseInput(LoginBody, request.body), clientAddress);
  }

  @Post('refresh')
  @HttpCode(200)
  async refresh(@Req() request: FastifyRequest): Promise<AuthSessionBody> {
    await this.contexts.create(request);
    return this.sessions.refresh(parseInput(RefreshTokenBody, request.body).refreshToken);
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@Req() request: FastifyRequest): Promise<void> {
    await this.contexts.create(request);
    await this.sessions.logout(parseInput(RefreshTokenBody, request.body).refreshToken);
  }
}
