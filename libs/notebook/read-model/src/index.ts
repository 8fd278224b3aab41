export * from './notebook-moments';
