import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsRpc } from './nats-rpc';
import { NATS_CONNECTION, NATS_OPTIONS, type NatsOptions } from './tokens';


/** Opens one connection to NATS; on shutdown the connection is drained, so nothing sent is lost. */
@Module({})
export class NatsModule implements OnApplicationShutdown {
  private readonly logger = new Logger('Nats');

  constructor(@Inject(NATS_CONNECTION) private readonly connection: NatsConnection) {}

  static forRoot(options: NatsOptions): DynamicModule {
    return {
      module: NatsModule,
      global: true,
      providers: [
        { provide: NATS_OPTIONS, useValue: options },
        {
          provide: NATS_CONNECTION,
          useFactory: async (): Promise<NatsConnection> => {
            const logger = new Logger('Nats');
            const connection = await connect({
              servers: options.servers.split(',').map((s) => s.trim()),
              name: options.name,
              maxReconnectAttempts: -1,
              reconnectTimeWait: 500,
              waitOnFirstConnect: true,
            });
            logger.log(`connected to ${connection.getServer()}`);
            void (async () => {
              for await (const status of connection.status()) {
                if (status.type === 'disconnect' || status.type === 'reconnect') {
                  logger.warn(`NATS ${status.type}: ${connection.getServer()}`);
                }
              }
            })();
            return connection;
          },
        },
        NatsRpc,
      ],
      exports: [NATS_CONNECTION, NATS_OPTIONS, NatsRpc],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.connection.isClosed()) return;
    await this.connection.drain().catch((error: unknown) => this.logger.warn(`drain failed: ${String(error)}`));
  }
}
