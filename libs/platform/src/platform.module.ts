import { DynamicModule, Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { PlatformConfig } from './config/config';
import { DatabaseModule } from './database/database.module';
import { HealthController } from './health/health.controller';
import { ReadinessChecks } from './health/readiness';
import { LoggingModule } from './logging/logging.module';
import { Metrics } from './metrics/metrics';
import { MetricsController } from './metrics/metrics.controller';
import { NatsModule } from './nats/nats.module';

/** Injection token of the service's validated configuration. */
export const CONFIG = Symbol('CONFIG');

export interface PlatformOptions {
  service: string;
  config: PlatformConfig;
  /** The Postgres schema the service owns, and the folder of its migrations. */
  database?: { schema: string; migrationsFolder: string } | 'read-only';
}

/** What every service has: configuration, logs, NATS, Postgres, health and metrics. */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    const { config, service, database } = options;
    return {
      module: PlatformModule,
      imports: [
        LoggingModule.forRoot({ service, level: config.LOG_LEVEL }),
        TerminusModule.forRoot({ logger: false }),
        NatsModule.forRoot({ servers: config.NATS_URL, name: service, namespace: config.NATS_NAMESPACE }),
        ...(database
          ? [
              DatabaseModule.forRoot({
                url: config.DATABASE_URL,
                poolMax: config.DATABASE_POOL_MAX,
                applicationName: service,
                ...(database === 'read-only' ? {} : database),
              }),
            ]
          : []),
      ],
      controllers: [HealthController, MetricsController],
      providers: [{ provide: CONFIG, useValue: config }, Metrics, ReadinessChecks],
      exports: [CONFIG, Metrics, ReadinessChecks],
    };
  }
}
