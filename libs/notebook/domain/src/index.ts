export * from './notebook.decider';
export * from './notebook.permissions';
