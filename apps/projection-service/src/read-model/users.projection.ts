import { eventDecoder, type CommitMessage, type ReadModelTables } from '@notebooks/contracts';
import { shouldApply } from '@notebooks/projector';
import type { Transaction } from 'kysely';

const decode = eventDecoder('users');

/** Folds a user commit into the user directory (no credentials: they never enter the log). */
export async function projectUserCommit(trx: Transaction<ReadModelTables>, commit: CommitMessage): Promise<void> {
  const last = commit.events.at(-1);
  const id = commit.streamId;
  const current = await trx.selectFrom('read.users').select('version').where('id', '=', id).forUpdate().executeTakeFirst();
  if (!last || !shouldApply(commit, current?.version ?? 0)) return;

  for (const envelope of commit.events) {
    const event = decode(envelope);
    switch (event.type) {
      case 'user.registered':
        await trx
          .insertInto('read.users')
          .values({ id, email: event.data.email, display_name: event.data.displayName, version: envelope.version, created_at: new Date(envelope.occurredAt) })
          .execute();
        break;
      case 'user.updated':
        await trx.updateTable('read.users').set({ display_name: event.data.displayName }).where('id', '=', id).execute();
        break;
    }
  }
  await trx.updateTable('read.users').set({ version: last.version }).where('id', '=', id).execute();
}
