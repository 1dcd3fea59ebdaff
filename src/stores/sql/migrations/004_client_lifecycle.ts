// What an agency app may be beyond a web backend (issue 14): its application type (RFC 8252
// native apps), its security profile (FAPI 2.0), the ID token algorithm it verifies, PAR and
// DPoP requirements, keys by URL; and what keeps a client_id across a secret rotation: the
// previous secret's hash with the end of its overlap.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_clients', (table) => {
    table.string('application_type', 16).notNullable().defaultTo('web');
    table.string('profile', 16).notNullable().defaultTo('oidc');
    table.string('id_token_signed_response_alg', 16).notNullable().defaultTo('ES256');
    table.boolean('require_pushed_authorization_requests').notNullable().defaultTo(false);
    table.boolean('dpop_bound_access_tokens').notNullable().defaultTo(false);
    table.text('jwks_uri').nullable();
    table.string('previous_secret_hash', 64).nullable();
    table.timestamp('previous_secret_expires_at', { useTz: true }).nullable();
    table.timestamp('updated_at', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_clients', (table) => {
    for (const column of [
      'application_type', 'profile', 'id_token_signed_response_alg', 'require_pushed_authorization_requests',
      'dpop_bound_access_tokens', 'jwks_uri', 'previous_secret_hash', 'previous_secret_expires_at', 'updated_at',
    ]) table.dropColumn(column);
  });
}
