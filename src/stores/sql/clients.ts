// OIDC clients over knex (the table of migrations 002, 004 and 005) and the public subjects' salt.
import type { Knex } from 'knex';
import type { ClientRecord, ClientStore } from '../types.ts';
import { fromSql, guard, toSql } from './dialect.ts';

interface ClientRow {
  client_id: string;
  name: string;
  application_type: string;
  profile: string;
  secret_hash: string | null;
  previous_secret_hash: string | null;
  previous_secret_expires_at: string | Date | null;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  backchannel_logout_uri: string | null;
  auth_method: string;
  jwks: string | null;
  jwks_uri: string | null;
  id_token_signed_response_alg: string;
  require_pushed_authorization_requests: boolean | number;
  dpop_bound_access_tokens: boolean | number;
  subject_type: string;
  subject_salt: string;
  scopes: string;
  created_at: string | Date;
  updated_at: string | Date | null;
}

const toRecord = (row: ClientRow): ClientRecord => ({
  clientId: row.client_id,
  name: row.name,
  applicationType: row.application_type as ClientRecord['applicationType'],
  profile: row.profile as ClientRecord['profile'],
  secretHash: row.secret_hash,
  previousSecretHash: row.previous_secret_hash,
  previousSecretExpiresAt: row.previous_secret_expires_at === null ? null : fromSql(row.previous_secret_expires_at),
  redirectUris: JSON.parse(row.redirect_uris) as string[],
  postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
  backchannelLogoutUri: row.backchannel_logout_uri,
  authMethod: row.auth_method as ClientRecord['authMethod'],
  jwks: row.jwks,
  jwksUri: row.jwks_uri,
  idTokenSignedResponseAlg: row.id_token_signed_response_alg as ClientRecord['idTokenSignedResponseAlg'],
  // SQLite has no boolean: knex writes 1 and 0.
  requirePushedAuthorizationRequests: Boolean(row.require_pushed_authorization_requests),
  dpopBoundAccessTokens: Boolean(row.dpop_bound_access_tokens),
  subjectType: row.subject_type as ClientRecord['subjectType'],
  subjectSalt: row.subject_salt,
  scopes: JSON.parse(row.scopes) as string[],
  createdAt: fromSql(row.created_at),
  updatedAt: row.updated_at === null ? null : fromSql(row.updated_at),
});

/** Every column but the key; client_id and the pairwise salt never change after insert. */
const toRow = (record: ClientRecord) => ({
  name: record.name,
  application_type: record.applicationType,
  profile: record.profile,
  secret_hash: record.secretHash,
  previous_secret_hash: record.previousSecretHash,
  previous_secret_expires_at: record.previousSecretExpiresAt === null ? null : toSql(record.previousSecretExpiresAt),
  redirect_uris: JSON.stringify(record.redirectUris),
  post_logout_redirect_uris: JSON.stringify(record.postLogoutRedirectUris),
  backchannel_logout_uri: record.backchannelLogoutUri,
  auth_method: record.authMethod,
  jwks: record.jwks,
  jwks_uri: record.jwksUri,
  id_token_signed_response_alg: record.idTokenSignedResponseAlg,
  require_pushed_authorization_requests: record.requirePushedAuthorizationRequests,
  dpop_bound_access_tokens: record.dpopBoundAccessTokens,
  subject_type: record.subjectType,
  scopes: JSON.stringify(record.scopes),
  updated_at: record.updatedAt === null ? null : toSql(record.updatedAt),
});

export function clientStore(db: Knex): ClientStore {
  return {
    find: (clientId) => guard(async () => {
      const row = await db<ClientRow>('oidc_clients').where({ client_id: clientId }).first();
      return row === undefined ? undefined : toRecord(row);
    }),
    list: () => guard(async () => (await db<ClientRow>('oidc_clients').select('*').orderBy('created_at')).map(toRecord)),
    insert: (record) => guard(async () => {
      await db('oidc_clients').insert({
        client_id: record.clientId, subject_salt: record.subjectSalt, created_at: toSql(record.createdAt), ...toRow(record),
      });
    }),
    update: (record) => guard(async () => (await db('oidc_clients').where({ client_id: record.clientId }).update(toRow(record))) > 0),
    remove: (clientId) => guard(async () => (await db('oidc_clients').where({ client_id: clientId }).delete()) > 0),
    publicSubjectSalt: () => guard(async () => {
      const row = await db<{ name: string; value: string }>('oidc_settings').where({ name: 'public_subject_salt' }).first();
      // Written by migration 005; a database without it is not one this service migrated.
      if (row === undefined) throw new TypeError('oidc_settings has no public_subject_salt');
      return row.value;
    }),
  };
}
