import { Kysely } from 'kysely';

// The service's own schema; its tables come with the features that need them.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createSchema('auth').ifNotExists().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropSchema('auth').ifExists().cascade().execute();
}
