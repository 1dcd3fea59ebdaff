// OIDC clients over knex (the table of migration 002).
import type { Knex } from 'knex';
import type { ClientRecord, ClientStore } from '../types.ts';
import { guard } from './dialect.ts';

interface ClientRow {
  client_id: string;
  name: string;
  secret_hash: string | null;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  backchannel_logout_uri: string | null;
  auth_method: string;
  jwks: string | null;
  subject_type: string;
  subject_salt: string;
  created_at: string | Date;
}

const toRecord = (row: ClientRow): ClientRecord => ({
  clientId: row.client_id,
  name: row.name,
  secretHash: row.secret_hash,
  redirectUris: JSON.parse(row.redirect_uris) as string[],
  postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
  backchannelLogoutUri: row.backchannel_logout_uri,
  authMethod: row.auth_method as ClientRecord['authMethod'],
  jwks: row.jwks,
  subjectType: row.subject_type as ClientRecord['subjectType'],
  subjectSalt: row.subject_salt,
  createdAt: new Date(row.created_at),
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
        client_id: record.clientId,
        name: record.name,
        secret_hash: record.secretHash,
        redirect_uris: JSON.stringify(record.redirectUris),
        post_logout_redirect_uris: JSON.stringify(record.postLogoutRedirectUris),
        backchannel_logout_uri: record.backchannelLogoutUri,
        auth_method: record.authMethod,
        jwks: record.jwks,
        subject_type: record.subjectType,
        subject_salt: record.subjectSalt,
        created_at: record.createdAt.toISOString(),
      });
    }),
    remove: (clientId) => guard(async () => (await db('oidc_clients').where({ client_id: clientId }).delete()) > 0),
  };
}
