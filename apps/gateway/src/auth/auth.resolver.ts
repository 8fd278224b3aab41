import { Args, Context, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { AuthSession, UserProfile } from '@notebooks/contracts';
import type { GatewayContext } from '../graphql/context';
import { AuthSessions } from './auth-sessions';
import { AuthPayload, LoginInput, RegisterInput, User } from './auth.models';

function toUser(profile: UserProfile): User {
  return { ...profile, createdAt: new Date(profile.createdAt) };
}

function toPayload(session: AuthSession): AuthPayload {
  return { ...session, expiresAt: new Date(session.expiresAt), user: toUser(session.user) };
}

@Resolver()
export class AuthResolver {
  constructor(private readonly sessions: AuthSessions) {}

  @Query(() => User, { nullable: true })
  async me(@Context() context: GatewayContext): Promise<User | null> {
    if (!context.viewer) return null;
    return toUser(await this.sessions.me(context.viewer));
  }

  @Mutation(() => AuthPayload)
  async register(@Args('input') input: RegisterInput, @Context() context: GatewayContext): Promise<AuthPayload> {
    return toPayload(await this.sessions.register(input, context.clientAddress));
  }

  @Mutation(() => AuthPayload)
  async login(@Args('input') input: LoginInput, @Context() context: GatewayContext): Promise<AuthPayload> {
    return toPayload(await this.sessions.login(input, context.clientAddress));
  }

  @Mutation(() => AuthPayload, { description: 'Rotates the refresh token: the old one stops working.' })
  async refresh(@Args('refreshToken') refreshToken: string): Promise<AuthPayload> {
    return toPayload(await this.sessions.refresh(refreshToken));
  }

  @Mutation(() => Boolean)
  logout(@Args('refreshToken') refreshToken: string): Promise<boolean> {
    return this.sessions.logout(refreshToken);
  }
}
