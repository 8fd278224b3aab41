import { eventDecoder, type CommitMessage } from '@notebooks/contracts';
import { ProjectionGap } from '@notebooks/projector';
import type { Transaction } from 'kysely';
import type { ReadDatabase } from './read-database';

const decode = eventDecoder('users');

/** Folds a user commit into the user directory (no credentials: they never enter the log). */
export async function projectUserCommit(trx: Transaction<ReadDatabase>, commit: CommitMessage): Promise<void> {
  const first = commit.events[0];
  const last = commit.events.at(-1);
  if (!first || !last) return;
  const id = commit.streamId;
  const current = await trx.selectFrom('read.users').select('version').where('id', '=', id).forUpdate().executeTakeFirst();
  const version = current?.version ?? 0;
  if (last.version <= version) return;
  if (first.version !== version + 1) throw new ProjectionGap(id, version + 1, first.version);

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
