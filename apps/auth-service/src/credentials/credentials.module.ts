import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DATABASE } from '@notebooks/platform';
import type { Kysely } from 'kysely';
import { Pool } from 'pg';
import type { AuthDatabase } from '../database';
import type { AuthConfig } from '../service';
import { CredentialsHandlers } from './credentials.handlers';
import { AUTH_CONFIG, CredentialsService } from './credentials.service';
import { JwksController } from './jwks.controller';
import { LoginThrottle } from './login-throttle';
import { SigningKeys } from './signing-keys';
import { UserOutbox } from './user-outbox';

const THROTTLE_POOL = Symbol('THROTTLE_POOL');

@Module({})
export class CredentialsModule implements OnApplicationShutdown {
  constructor(@Inject(THROTTLE_POOL) private readonly pool: Pool) {}

  static forRoot(config: AuthConfig): DynamicModule {
    return {
      module: CredentialsModule,
      controllers: [JwksController],
      providers: [
        { provide: AUTH_CONFIG, useValue: config },
        {
          provide: SigningKeys,
          inject: [DATABASE],
          useFactory: (db: Kysely<AuthDatabase>) => SigningKeys.load(config, db),
        },
        {
          provide: THROTTLE_POOL,
          useFactory: () => {
            const pool = new Pool({ connectionString: config.DATABASE_URL, max: 4, application_name: 'auth-service:throttle' });
            pool.on('error', () => undefined); // a lost idle connection is replaced on next use
            return pool;
          },
        },
        { provide: LoginThrottle, inject: [THROTTLE_POOL], useFactory: (pool: Pool) => new LoginThrottle(pool, config) },
        UserOutbox,
        CredentialsService,
        CredentialsHandlers,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
