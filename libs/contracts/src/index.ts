export * from './commit';
export * from './errors';
export * from './naming';
