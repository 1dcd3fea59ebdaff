// `admin revocations [--limit N] [--offset N]`: what the registry holds, oldest first; with
// `--cert FILE` or `--serial HEX --issuer DN`, whether that one certificate is revoked.
import { InvalidArgumentError } from 'commander';
import type { RevocationRecord } from '../stores/types.ts';
import { defineCommand, onRun, type RegisterCommand } from './command.ts';
import { withDatabase } from './environment.ts';
import { readTarget } from './revoke.ts';

interface Options {
  limit: number;
  offset: number;
  cert?: string;
  serial?: string;
  issuer?: string;
}

export function count(text: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new InvalidArgumentError('a whole number');
  return Number(text);
}

export const registerRevocations: RegisterCommand = (program, io) => {
  const command = defineCommand(program, 'revocations', 'list the local revocation registry')
    .option('--limit <n>', 'at most this many', count, 1000)
    .option('--offset <n>', 'skip this many first', count, 0)
    .option('--cert <file>', 'only this certificate (PEM or DER)')
    .option('--serial <hex>', 'only this serial (with --issuer)')
    .option('--issuer <dn>', 'issuer DN in RFC 4514 form (with --serial)');
  onRun<Options>(command, io, async (options) => {
    if (options.cert !== undefined || options.serial !== undefined || options.issuer !== undefined) {
      const target = await readTarget(options);
      return withDatabase(io, async (db) => {
        const record = await db.revocations.find(target.issuer, target.serialHex);
        return {
          json: record === undefined ? null : view(record),
          text: record === undefined ? `Not revoked: serial ${target.serialHex} issued by "${target.issuer}".` : line(record),
        };
      });
    }
    return withDatabase(io, async (db) => {
      const records = await db.revocations.list({ limit: options.limit, offset: options.offset });
      return { json: records.map(view), text: records.length === 0 ? 'The registry holds no revocations.' : records.map(line).join('\n') };
    });
  });
};

const view = (record: RevocationRecord) => ({
  issuer: record.issuer,
  serialHex: record.serialHex,
  reason: record.reason,
  revokedAt: record.revokedAt.toISOString(),
  sha256: record.sha256 ?? null,
  source: record.source,
  recordedAt: record.recordedAt?.toISOString() ?? null,
});

const line = (record: RevocationRecord) =>
  `${record.revokedAt.toISOString()}  ${record.reason.padEnd(20)}  ${record.serialHex}  ${record.issuer}  (${record.source})`;
