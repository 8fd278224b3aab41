import type { CommitMessage, ReadModelTables } from '@notebooks/contracts';
import type { Transaction } from 'kysely';

/** What one commit on a notebook's stream counts as, for activity. */
type Activity = 'created' | 'forked' | 'edited';

/**
 * A command is one commit, so activity counts commits, not events: creating (or forking into) a
 * notebook, being forked (the source's record of it), or an edit — anything else that changed it.
 */
function activityOf(commit: CommitMessage): Activity {
  const first = commit.events[0]?.type;
  if (first === 'notebook.created') return 'created';
  if (first === 'notebook.forked') return 'forked';
  return 'edited';
}

/**
 * Counts a commit in the activity tables (built with the query builder throughout, no raw table
 * names, so a replay can aim the same code at its staging schema). Runs in the transaction that applies the commit, after its
 * version guard, so each commit counts exactly once however often it is delivered.
 */
export async function recordActivity(trx: Transaction<ReadModelTables>, commit: CommitMessage): Promise<void> {
  const last = commit.events.at(-1);
  if (!last) return;
  const at = new Date(last.occurredAt);
  const notebookId = commit.streamId;
  const activity = activityOf(commit);
  const edits = activity === 'edited' ? 1 : 0;

  await trx
    .insertInto('read.notebook_activity')
    .values({ notebook_id: notebookId, edits, forks: activity === 'forked' ? 1 : 0, last_activity_at: at })
    .onConflict((c) =>
      c.column('notebook_id').doUpdateSet((eb) => ({
        edits: eb('read.notebook_activity.edits', '+', eb.ref('excluded.edits')),
        forks: eb('read.notebook_activity.forks', '+', eb.ref('excluded.forks')),
        last_activity_at: eb.fn('greatest', ['read.notebook_activity.last_activity_at', 'excluded.last_activity_at']),
      })),
    )
    .execute();

  const actorId = last.actorId;
  if (!actorId) return;
  if (activity === 'edited') {
    await trx
      .insertInto('read.notebook_contributors')
      .values({ notebook_id: notebookId, user_id: actorId, edits: 1, last_activity_at: at })
      .onConflict((c) =>
        c.columns(['notebook_id', 'user_id']).doUpdateSet((eb) => ({
          edits: eb('read.notebook_contributors.edits', '+', eb.ref('excluded.edits')),
          last_activity_at: eb.fn('greatest', ['read.notebook_contributors.last_activity_at', 'excluded.last_activity_at']),
        })),
      )
      .execute();
  }
  await trx
    .insertInto('read.user_activity')
    .values({ user_id: actorId, edits, notebooks_created: activity === 'created' ? 1 : 0, forks: activity === 'forked' ? 1 : 0, last_activity_at: at })
    .onConflict((c) =>
      c.column('user_id').doUpdateSet((eb) => ({
        edits: eb('read.user_activity.edits', '+', eb.ref('excluded.edits')),
        notebooks_created: eb('read.user_activity.notebooks_created', '+', eb.ref('excluded.notebooks_created')),
        forks: eb('read.user_activity.forks', '+', eb.ref('excluded.forks')),
        last_activity_at: eb.fn('greatest', ['read.user_activity.last_activity_at', 'excluded.last_activity_at']),
      })),
    )
    .execute();
}
