// OIDC clients (agency apps). Lists (redirect URIs) are JSON text: they are read whole and
// compared exactly, never queried by element.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oidc_clients', (table) => {
    table.string('client_id', 128).primary();
    table.text('name').notNullable();
    table.string('secret_hash', 64).nullable();
    table.text('redirect_uris').notNullable();
    table.text('post_logout_redirect_uris').notNullable();
    table.text('backchannel_logout_uri').nullable();
    table.string('auth_method', 32).notNullable();
    table.text('jwks').nullable();
    table.string('subject_type', 16).notNullable();
    table.string('subject_salt', 64).notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oidc_clients');
}
