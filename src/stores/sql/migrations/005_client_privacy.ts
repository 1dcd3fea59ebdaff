// Privacy of agency apps (issue 10): each client's allow-list of scopes, and one secret salt for
// every `public` subject, so a public sub is an opaque id the same at every public client, never
// the citizen's PINFL. Clients registered before keep every scope they could ask for (nothing an
// agency relies on stops working; an operator narrows it with `clients update --scope`); new
// ones default to openid profile. Their public subjects change once, from `pinfl:…` to opaque.
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

const everyScopeBefore = JSON.stringify(['openid', 'profile', 'national_id', 'organization']);

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_clients', (table) => {
    table.text('scopes').notNullable().defaultTo(JSON.stringify(['openid', 'profile']));
  });
  await knex('oidc_clients').update({ scopes: everyScopeBefore });
  await knex.schema.createTable('oidc_settings', (table) => {
    table.string('name', 64).primary();
    table.text('value').notNullable();
  });
  const salt = randomBytes(32).toString('base64url');
  await knex('oidc_settings').insert({ name: 'public_subject_salt', value: salt });
  await knex('oidc_clients').where({ subject_type: 'public' }).update({ subject_salt: salt });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oidc_settings');
  await knex.schema.alterTable('oidc_clients', (table) => {
    table.dropColumn('scopes');
  });
}
