import { DynamicModule, Module } from '@nestjs/common';
import { AccessTokens, TOKEN_CONFIG, type TokenConfig } from './access-tokens';
import { AuthSessions } from './auth-sessions';
import { AuthResolver } from './auth.resolver';

@Module({})
export class AuthModule {
  static forRoot(config: TokenConfig): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      providers: [{ provide: TOKEN_CONFIG, useValue: config }, AccessTokens, AuthSessions, AuthResolver],
      exports: [AccessTokens, AuthSessions],
    };
  }
}
