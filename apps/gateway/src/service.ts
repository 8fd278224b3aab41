import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';
import { z } from 'zod';
import { AuthModule } from './auth/auth.module';
import { GraphqlModule } from './graphql/graphql.module';
import { HttpErrorFilter } from './graphql/http-error.filter';
import { RealtimeModule } from './realtime/realtime.module';
import { RestModule } from './rest/rest.module';

export const gatewayEnv = platformEnv(4000).extend({
  /** Must match auth-service's: tokens from any other issuer or for any other audience are refused. */
  JWT_ISSUER: z.string().trim().min(1).default('notebooks-auth'),
  JWT_AUDIENCE: z.string().trim().min(1).default('notebooks-api'),
  /** An unknown key id refetches auth's public keys at most this often. */
  JWKS_REFRESH_COOLDOWN_MS: z.coerce.number().int().min(0).default(10_000),
  /** How long `NotebookChange.notebook` and `notebook(minVersion:)` wait for the read model before answering UNAVAILABLE. */
  READ_YOUR_WRITES_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(1).max(50).default(10),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(10).default(5_000),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).default(15),
  /** Live events a real-time subscriber may have waiting before it is disconnected as a slow consumer. */
  REALTIME_MAX_QUEUED_EVENTS: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  /** How long a notebook's shared real-time feed stays open after its last subscriber left. */
  REALTIME_FEED_LINGER_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  /** How far back (in commits) `Last-Event-ID` may resume the stream of all notebooks. */
  REALTIME_MAX_RESUME_COMMITS: z.coerce.number().int().min(0).default(10_000),
});
export type GatewayConfig = z.infer<typeof gatewayEnv>;

/** Requests larger than this are refused with 413 before anything parses them. */
const GATEWAY_BODY_LIMIT_BYTES = 1024 * 1024;

@Module({})
export class GatewayModule {}

export const gatewayService: ServiceDefinition<GatewayConfig> = {
  name: 'gateway',
  env: gatewayEnv,
  bodyLimitBytes: GATEWAY_BODY_LIMIT_BYTES,
  module: (config) => ({
    module: GatewayModule,
    providers: [{ provide: APP_FILTER, useClass: HttpErrorFilter }],
    imports: [
      PlatformModule.forRoot({ service: 'gateway', config, database: 'read-only' }),
      AuthModule.forRoot(config),
      GraphqlModule.forRoot(config),
      RealtimeModule.forRoot(config),
      RestModule,
    ],
  }),
};
