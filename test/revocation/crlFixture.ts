// CRLs made by `openssl ca -gencrl` from an index of revoked serials, so the import is tested
// against an independent encoder (and at 100 000 entries, against a realistic size).
import { execFileSync } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CrlAuthority {
  certDer: Uint8Array;
  privateKey: KeyObject;
}

export interface CrlEntry {
  /** Hex (padded to whole octets here, as openssl's index wants). */
  serialHex: string;
  /** openssl's reason names: keyCompromise, CACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, removeFromCRL. */
  reason?: string;
}

const evenHex = (hex: string) => (hex.length % 2 === 1 ? `0${hex}` : hex).toUpperCase();

const pem = (der: Uint8Array) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;

export interface CrlOptions {
  format?: 'der' | 'pem';
  /** thisUpdate / nextUpdate as openssl takes them (YYYYMMDDHHMMSSZ), e.g. for a stale CRL. */
  lastUpdate?: string;
  nextUpdate?: string;
}

/** A CRL signed by `ca` listing `entries`. */
export function makeCrl(ca: CrlAuthority, entries: readonly CrlEntry[], options: CrlOptions = {}): Buffer {
  const format = options.format ?? 'der';
  const dir = mkdtempSync(join(tmpdir(), 'yagona-crl-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), pem(ca.certDer));
    writeFileSync(join(dir, 'ca.key'), ca.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    // index.txt: status, expiry, revocation date[,reason], serial, file, subject (openssl ca(1) "database").
    const lines = entries.map((entry, i) =>
      `R\t300101000000Z\t250101000000Z${entry.reason === undefined ? '' : `,${entry.reason}`}\t${evenHex(entry.serialHex)}\tunknown\t/CN=Revoked ${i}\n`);
    writeFileSync(join(dir, 'index.txt'), lines.join(''));
    writeFileSync(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
    writeFileSync(join(dir, 'crlnumber'), '01\n');
    writeFileSync(join(dir, 'openssl.cnf'), [
      '[ca]', 'default_ca = test', '[test]', `dir = ${dir}`, 'database = $dir/index.txt', 'crlnumber = $dir/crlnumber',
      'certificate = $dir/ca.pem', 'private_key = $dir/ca.key', 'default_md = sha256', 'default_crl_days = 7', 'crl_extensions = ext', '[ext]', 'authorityKeyIdentifier = keyid:always', '',
    ].join('\n'));
    const dates = [
      ...(options.lastUpdate === undefined ? [] : ['-crl_lastupdate', options.lastUpdate]),
      ...(options.nextUpdate === undefined ? [] : ['-crl_nextupdate', options.nextUpdate]),
    ];
    execFileSync('openssl', ['ca', '-batch', '-gencrl', '-config', join(dir, 'openssl.cnf'), ...dates, '-out', join(dir, 'crl.pem')], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (format === 'pem') return readFileSync(join(dir, 'crl.pem'));
    execFileSync('openssl', ['crl', '-in', join(dir, 'crl.pem'), '-outform', 'DER', '-out', join(dir, 'crl.der')]);
    return readFileSync(join(dir, 'crl.der'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
