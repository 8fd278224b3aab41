import { Injectable } from '@nestjs/common';
import { AuthSession, AuthSubjects, LoginRequest, RefreshRequest, RegisterRequest, UserProfile } from '@notebooks/contracts';
import { NatsRpc } from '@notebooks/platform';
import { z } from 'zod';
import type { Viewer } from '../graphql/context';
import { parseInput } from '../graphql/errors';

/** What a client sends to register or log in; the gateway adds where the request came from. */
export type NewAccount = Omit<RegisterRequest, 'clientAddress'>;
export type Credentials = Omit<LoginRequest, 'clientAddress'>;

/**
 * Accounts and sessions through auth-service, for GraphQL and REST alike: inputs validated with the
 * contract's schemas, login and registration rate-limited by auth-service per client address.
 */
@Injectable()
export class AuthSessions {
  constructor(private readonly rpc: NatsRpc) {}

  async me(viewer: Viewer): Promise<UserProfile> {
    return UserProfile.parse(await this.rpc.request(AuthSubjects.user, { userId: viewer.userId }));
  }

  register(input: NewAccount, clientAddress: string): Promise<AuthSession> {
    return this.session(AuthSubjects.register, parseInput(RegisterRequest, { ...input, clientAddress }));
  }

  login(input: Credentials, clientAddress: string): Promise<AuthSession> {
    return this.session(AuthSubjects.login, parseInput(LoginRequest, { ...input, clientAddress }));
  }

  /** Rotates the refresh token: the old one stops working. */
  refresh(refreshToken: string): Promise<AuthSession> {
    return this.session(AuthSubjects.refresh, parseInput(RefreshRequest, { refreshToken }));
  }

  /** Revokes the refresh token's session; an unknown token is no error. */
  async logout(refreshToken: string): Promise<boolean> {
    return z.boolean().parse(await this.rpc.request(AuthSubjects.logout, parseInput(RefreshRequest, { refreshToken })));
  }

  private async session(subject: string, request: unknown): Promise<AuthSession> {
    return AuthSession.parse(await this.rpc.request(subject, request));
  }
}
