export * from './nats-server';
export * from './postgres-server';
export * from './processes';
export * from './test-infra';
