export * from './errors';
export * from './naming';
