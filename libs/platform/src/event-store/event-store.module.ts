import { DynamicModule, Module } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventStore, JetStreamEventStore } from '@notebooks/event-store';
import type { PlatformConfig } from '../config/config';
import { NATS_CONNECTION, NATS_OPTIONS, type NatsOptions } from '../nats/tokens';
import { CONFIG } from '../platform.module';

/** Provides the {@link EventStore} on the service's NATS connection (streams provisioned at start). */
@Module({})
export class EventStoreModule {
  static forRoot(): DynamicModule {
    return {
      module: EventStoreModule,
      global: true,
      providers: [
        {
          provide: EventStore,
          inject: [NATS_CONNECTION, NATS_OPTIONS, CONFIG],
          useFactory: (connection: NatsConnection, options: NatsOptions, config: PlatformConfig) =>
            JetStreamEventStore.create(connection, { namespace: options.namespace, replicas: config.NATS_STREAM_REPLICAS }),
        },
      ],
      exports: [EventStore],
    };
  }
}
