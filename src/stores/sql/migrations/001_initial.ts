// Signing keys, the local revocation registry and the hash-chained audit log.
// Timestamps are timestamptz on PostgreSQL; on SQLite they hold ISO 8601 UTC text, which
// sorts like time. OIDC clients get a migration of their own when they arrive.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('signing_keys', (table) => {
    table.string('kid', 128).primary();
    table.string('alg', 16).notNullable();
    table.text('private_key').notNullable();
    table.text('public_key').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('retired_at', { useTz: true }).nullable();
  });

  await knex.schema.createTable('revocations', (table) => {
    table.bigIncrements('id');
    table.text('issuer').notNullable();
    table.string('serial_hex', 128).notNullable();
    table.string('reason', 32).notNullable();
    table.timestamp('revoked_at', { useTz: true }).notNullable();
    table.string('sha256', 64).nullable();
    table.string('source', 256).notNullable();
    // One record per certificate; its index is also what makes `find` fast.
    table.unique(['issuer', 'serial_hex'], { indexName: 'revocations_issuer_serial' });
  });

  await knex.schema.createTable('audit_log', (table) => {
    // Assigned by the append under its lock (1, 2, 3, …), so a deleted row leaves a gap.
    table.bigInteger('id').primary();
    table.timestamp('at', { useTz: true }).notNullable();
    table.string('type', 64).notNullable();
    table.string('outcome', 16).notNullable();
    table.string('code', 64).nullable();
    table.text('actor').nullable();
    table.string('certificate_sha256', 64).nullable();
    table.text('subject').nullable();
    table.string('request_id', 128).nullable();
    // Canonical JSON text, not jsonb: the hash covers these exact bytes.
    table.text('details').nullable();
    // Unique: two rows can never claim the same predecessor, so the chain cannot fork.
    table.string('prev_hash', 64).notNullable().unique();
    table.string('hash', 64).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_log');
  await knex.schema.dropTable('revocations');
  await knex.schema.dropTable('signing_keys');
}
