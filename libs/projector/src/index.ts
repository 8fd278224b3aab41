export * from './projector-tables.migration';
export * from './projector';
