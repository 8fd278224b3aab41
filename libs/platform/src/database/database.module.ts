import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Pool } from 'pg';
import { migrateToLatest } from './migrations';

/** Injection token of the service's Kysely instance; inject it typed with the service's own schema. */
export const DATABASE = Symbol('DATABASE');

export interface DatabaseOptions {
  url: string;
  poolMax: number;
  /** Name shown in `pg_stat_activity`. */
  applicationName: string;
  /** The Postgres schema this service owns and migrates; absent for a read-only user of others' schemas. */
  schema?: string;
  migrationsFolder?: string;
}

function createDatabase(options: Pick<DatabaseOptions, 'url' | 'poolMax' | 'applicationName'>): Kysely<unknown> {
  const pool = new Pool({
    connectionString: options.url,
    max: options.poolMax,
    application_name: options.applicationName,
    connectionTimeoutMillis: 5_000,
  });
  // An idle connection the server closes (restart, failover) is dropped and replaced; without a
  // listener the pool's 'error' event would end the process.
  const logger = new Logger('Database');
  pool.on('error', (error) => logger.warn(`idle Postgres connection lost: ${error.message}`));
  return new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
}

/** Connects to Postgres and applies the service's migrations before the service starts answering. */
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly db: Kysely<unknown>) {}

  static forRoot(options: DatabaseOptions): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [
        {
          provide: DATABASE,
          useFactory: async (): Promise<Kysely<unknown>> => {
            const logger = new Logger('Database');
            const db = createDatabase(options);
            await sql`select 1`.execute(db);
            if (options.schema && options.migrationsFolder) {
              const applied = await migrateToLatest(db, options.schema, options.migrationsFolder);
              logger.log(`schema "${options.schema}" is up to date${applied.length ? ` (applied ${applied.join(', ')})` : ''}`);
            }
            return db;
          },
        },
      ],
      exports: [DATABASE],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}
