// The token-signing keys (sealed JWKs; src/keys/ seals and rotates them).
import type { Knex } from 'knex';
import type { SigningKeyRecord, SigningKeyStore } from '../types.ts';
import { fromSql, guard, toSql } from './dialect.ts';

interface SigningKeyRow {
  kid: string;
  alg: string;
  private_key: string;
  public_key: string;
  created_at: string | Date;
  retired_at: string | Date | null;
}

export function signingKeyStore(db: Knex): SigningKeyStore {
  return {
    list: () => guard(async () => {
      const rows = await db<SigningKeyRow>('signing_keys').select('*').orderBy([{ column: 'created_at' }, { column: 'kid' }]);
      return rows.map((row): SigningKeyRecord => ({
        kid: row.kid,
        alg: row.alg as SigningKeyRecord['alg'],
        privateKey: row.private_key,
        publicKey: row.public_key,
        createdAt: fromSql(row.created_at),
        retiredAt: row.retired_at === null ? null : fromSql(row.retired_at),
      }));
    }),

    insert: (record) => guard(async () => {
      await db('signing_keys').insert({
        kid: record.kid,
        alg: record.alg,
        private_key: record.privateKey,
        public_key: record.publicKey,
        created_at: toSql(record.createdAt),
        retired_at: record.retiredAt === null ? null : toSql(record.retiredAt),
      });
    }),

    // Only the first retirement counts: a repeated rotation must not push the date forward.
    retire: (kid, at) => guard(async () => {
      await db('signing_keys').where({ kid }).whereNull('retired_at').update({ retired_at: toSql(at) });
    }),
  };
}

