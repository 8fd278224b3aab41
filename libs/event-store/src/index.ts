export * from './event-store';
export * from './handle-command';
export * from './in-memory-event-store';
export * from './jetstream-event-store';
export * from './keyed-queue';
