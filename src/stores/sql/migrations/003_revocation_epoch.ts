// The revocation epoch: how every instance learns of a revocation within a second without
// reading the registry per request (issue 4). One counter row is bumped in the same
// transaction as every change to the registry; its row lock serialises those transactions,
// so once an instance reads epoch N, every change numbered N or lower is committed and
// visible. Each revocation row carries the epoch that added it, each unrevocation leaves a
// row in revocation_removals, so "what changed after N" is two indexed range reads.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('revocation_epoch', (table) => {
    table.integer('id').primary();
    table.bigInteger('epoch').notNullable();
    table.timestamp('changed_at', { useTz: true }).notNullable();
  });
  await knex('revocation_epoch').insert({ id: 1, epoch: 0, changed_at: new Date(0).toISOString() });

  await knex.schema.alterTable('revocations', (table) => {
    table.bigInteger('epoch').notNullable().defaultTo(0);
    // When the row entered the registry (revoked_at may be an old CRL date): a starting
    // instance reloads what was recorded within the last session lifetime.
    table.timestamp('recorded_at', { useTz: true }).nullable();
    table.index(['epoch'], 'revocations_epoch');
    table.index(['recorded_at'], 'revocations_recorded_at');
  });

  await knex.schema.createTable('revocation_removals', (table) => {
    table.bigInteger('epoch').notNullable().index('revocation_removals_epoch');
    table.text('issuer').notNullable();
    table.string('serial_hex', 128).notNullable();
    table.timestamp('removed_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('revocation_removals');
  await knex.schema.alterTable('revocations', (table) => {
    table.dropIndex(['recorded_at'], 'revocations_recorded_at');
    table.dropIndex(['epoch'], 'revocations_epoch');
    table.dropColumn('recorded_at');
    table.dropColumn('epoch');
  });
  await knex.schema.dropTable('revocation_epoch');
}
