import { createProjectorTablesV1, dropProjectorTablesV1 } from '@notebooks/projector';
import { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await createProjectorTablesV1(db, 'read');
}

export async function down(db: Kysely<any>): Promise<void> {
  await dropProjectorTablesV1(db, 'read');
}
