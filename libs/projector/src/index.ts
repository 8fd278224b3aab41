export * from './projector-tables.migration';
