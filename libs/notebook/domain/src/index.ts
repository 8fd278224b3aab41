export * from './notebook.decider';
export * from './notebook.permissions';
export * from './cell-analysis';
export * from './notebook.timeline';
