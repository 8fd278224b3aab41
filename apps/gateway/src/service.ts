import { Module } from '@nestjs/common';
import { platformEnv, PlatformModule, type ServiceDefinition } from '@notebooks/platform';

export const GatewayEnv = platformEnv(4000);
export type GatewayConfig = ReturnType<typeof GatewayEnv.parse>;

@Module({})
export class GatewayModule {}

export const gatewayService: ServiceDefinition<GatewayConfig> = {
  name: 'gateway',
  env: GatewayEnv,
  module: (config) => ({
    module: GatewayModule,
    imports: [
      PlatformModule.forRoot({
        service: 'gateway',
        config,
        database: 'read-only',
      }),
    ],
  }),
};
