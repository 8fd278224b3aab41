export * from './user.decider';
