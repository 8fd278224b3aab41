export * from './nats-server';
export * from './postgres-server';
export * from './processes';
export * from './service-process';
export * from './test-infra';
