import { Args, Context, Mutation, Query, Resolver } from '@nestjs/graphql';
import {
  AuthSession,
  AuthSubjects,
  LoginRequest,
  RefreshRequest,
  RegisterRequest,
  UserProfile,
} from '@notebooks/contracts';
import { NatsRpc } from '@notebooks/platform';
import { z } from 'zod';
import type { GatewayContext } from '../graphql/context';
import { parseInput } from '../graphql/errors';
import { AuthPayload, LoginInput, RegisterInput, User } from './auth.models';

function toUser(profile: UserProfile): User {
  return { ...profile, createdAt: new Date(profile.createdAt) };
}

function toPayload(session: AuthSession): AuthPayload {
  return { ...session, expiresAt: new Date(session.expiresAt), user: toUser(session.user) };
}

@Resolver()
export class AuthResolver {
  constructor(private readonly rpc: NatsRpc) {}

  @Query(() => User, { nullable: true })
  async me(@Context() context: GatewayContext): Promise<User | null> {
    if (!context.viewer) return null;
    return toUser(UserProfile.parse(await this.rpc.request(AuthSubjects.user, { userId: context.viewer.userId })));
  }

  @Mutation(() => AuthPayload)
  async register(@Args('input') input: RegisterInput, @Context() context: GatewayContext): Promise<AuthPayload> {
    return this.session(AuthSubjects.register, parseInput(RegisterRequest, { ...input, clientAddress: context.clientAddress }));
  }

  @Mutation(() => AuthPayload)
  async login(@Args('input') input: LoginInput, @Context() context: GatewayContext): Promise<AuthPayload> {
    return this.session(AuthSubjects.login, parseInput(LoginRequest, { ...input, clientAddress: context.clientAddress }));
  }

  @Mutation(() => AuthPayload, { description: 'Rotates the refresh token: the old one stops working.' })
  async refresh(@Args('refreshToken') refreshToken: string): Promise<AuthPayload> {
    return this.session(AuthSubjects.refresh, parseInput(RefreshRequest, { refreshToken }));
  }

  @Mutation(() => Boolean)
  async logout(@Args('refreshToken') refreshToken: string): Promise<boolean> {
    return z.boolean().parse(await this.rpc.request(AuthSubjects.logout, parseInput(RefreshRequest, { refreshToken })));
  }

  private async session(subject: string, request: unknown): Promise<AuthPayload> {
    return toPayload(AuthSession.parse(await this.rpc.request(subject, request)));
  }
}
