export * from './projector-tables.migration';
export * from './projector';
export * from './replay';
export * from './schema-rewrite.plugin';
export * from './table-structure';
export * from './replay.command';
export * from './dead-letter-retry';
export * from './service-projections';
