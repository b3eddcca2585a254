/**
 * Configuration for the MikroORM CLI (`npm run migration:create`), run on the compiled
 * output (STACK.md P10). The gateway itself opens the database in src/persistence/orm.ts.
 */
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig } from '@mikro-orm/postgresql';
import { ALL_ENTITIES } from './src/persistence/all-entities.js';

export default defineConfig({
  clientUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/orgway',
  entities: ALL_ENTITIES,
  extensions: [Migrator],
  migrations: { path: 'dist/src/persistence/migrations', pathTs: 'src/persistence/migrations', snapshot: false },
});
