// Every migration, in order, listed explicitly: knex's directory scan cannot see .ts files
// when compiled to dist/ nor load them under tsx reliably, so the list is the source.
// Names are permanent once released (knex records them); append, never rename.
import type { Knex } from 'knex';
import * as initial from './001_initial.ts';
import * as oidcClients from './002_oidc_clients.ts';
import * as revocationEpoch from './003_revocation_epoch.ts';
import * as clientLifecycle from './004_client_lifecycle.ts';
import * as clientPrivacy from './005_client_privacy.ts';

interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const migrations: readonly Migration[] = [
  { name: '001_initial', ...initial },
  { name: '002_oidc_clients', ...oidcClients },
  { name: '003_revocation_epoch', ...revocationEpoch },
  { name: '004_client_lifecycle', ...clientLifecycle },
  { name: '005_client_privacy', ...clientPrivacy },
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...migrations],
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration,
};
