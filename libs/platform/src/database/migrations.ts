import { Kysely, Migrator, type Migration, type MigrationProvider } from 'kysely';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Migrations are ISO-dated files in a service's `migrations/` folder, applied in name order.
 * Loaded with `require` so the same code works from TypeScript sources (tests, dev) and compiled output.
 */
class FolderMigrationProvider implements MigrationProvider {
  constructor(private readonly folder: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = readdirSync(this.folder)
      .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.includes('.spec.'))
      .sort();
    return Object.fromEntries(
      files.map((file) => {
        const migration = require(join(this.folder, file)) as Migration;
        return [file.replace(/\.(ts|js)$/, ''), migration];
      }),
    );
  }
}

/**
 * Brings `schema` up to date. Kysely's migrator takes a lock, so replicas starting together are
 * safe; a failed migration stops the start with its error.
 */
export async function migrateToLatest(db: Kysely<unknown>, schema: string, folder: string): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new FolderMigrationProvider(folder),
    migrationTableSchema: schema,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  const failed = results.find((r) => r.status === 'Error');
  if (error || failed) {
    const cause = error instanceof Error ? error.message : String(error ?? 'unknown error');
    const which = failed ? `migration ${failed.migrationName}` : 'migrations';
    throw new Error(`${which} of schema "${schema}" failed: ${cause}`);
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
