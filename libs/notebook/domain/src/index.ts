export * from './notebook.decider';
