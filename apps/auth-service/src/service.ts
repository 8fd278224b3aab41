import { Module } from '@nestjs/common';
import { platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { join } from 'node:path';

export const AuthEnv = platformEnv(4102);
export type AuthConfig = ReturnType<typeof AuthEnv.parse>;

@Module({})
export class AuthModule {}

export const authService: ServiceDefinition<AuthConfig> = {
  name: 'auth-service',
  env: AuthEnv,
  module: (config) => ({
    module: AuthModule,
    imports: [
      PlatformModule.forRoot({
        service: 'auth-service',
        config,
        database: { schema: 'auth', migrationsFolder: join(__dirname, '..', 'migrations') },
      }),
    ],
  }),
};
