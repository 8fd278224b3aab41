import { Kysely } from 'kysely';

// REST addresses cells by id alone (`/api/cells/:id`), and the key of read.cells is (notebook_id, id).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.withSchema('read').createIndex('cells_id_idx').on('cells').column('id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.withSchema('read').dropIndex('cells_id_idx').execute();
}
