import type { ReadModelTables } from '@notebooks/contracts';
import type { ProjectionDefinition } from '@notebooks/projector';
import { projectExecutionCommit } from './executions.projection';
import { projectNotebookCommit } from './notebooks.projection';
import { projectUserCommit } from './users.projection';

/**
 * Every projection projection-service runs, and what a replay rebuilds: `tables` are the tables of
 * `read` each one alone writes (a replay refuses to run an `apply` that touches any other).
 */
export const READ_MODEL_PROJECTIONS: readonly ProjectionDefinition<ReadModelTables>[] = [
  {
    name: 'read-notebooks',
    category: 'notebooks',
    schema: 'read',
    tables: [
      'notebooks',
      'cells',
      'collaborators',
      'notebook_events',
      'notebook_snapshots',
      'notebook_activity',
      'notebook_contributors',
      'user_activity',
    ],
    apply: projectNotebookCommit,
  },
  { name: 'read-users', category: 'users', schema: 'read', tables: ['users'], apply: projectUserCommit },
  { name: 'read-executions', category: 'executions', schema: 'read', tables: ['cell_outputs', 'notebook_executions'], apply: projectExecutionCommit },
];
