// OpenSSL's gost engine (Debian libengine-gost-openssl) as the independent oracle: digests,
// keys, signatures and verification made by its C code, through the `openssl` command line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type EngineDigest = 'md_gost94' | 'md_gost12_256' | 'md_gost12_512';
export type EngineKeyKind = 'gost2001' | 'gost2012_256' | 'gost2012_512';

export interface EngineKey {
  kind: EngineKeyKind;
  keyPath: string;
  publicKeyPath: string;
  /** The raw public key as the SubjectPublicKeyInfo carries it: X‖Y, each little-endian. */
  rawPublicKey: Uint8Array;
  /** The private scalar d, as `openssl pkey -text` prints it. */
  privateKey: bigint;
}

export interface GostEngine {
  digest(algorithm: EngineDigest, data: Uint8Array): Uint8Array;
  generateKey(kind: EngineKeyKind, paramset: string): EngineKey;
  /** `pkeyutl -sign` over a digest: the 64- or 128-byte signature value. */
  sign(key: EngineKey, digest: Uint8Array): Uint8Array;
  /** `pkeyutl -verify` with the public key only. */
  verify(key: EngineKey, digest: Uint8Array, signature: Uint8Array): boolean;
  cleanup(): void;
}

function openssl(args: string[], input?: Uint8Array): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function openGostEngine(): GostEngine {
  try {
    openssl(['engine', 'gost']);
  } catch (cause) {
    throw new Error('OpenSSL gost engine not found: apt-get install libengine-gost-openssl', { cause });
  }
  const dir = mkdtempSync(join(tmpdir(), 'yagona-gost-'));
  let counter = 0;
  const file = (name: string) => join(dir, `${counter}-${name}`);

  return {
    digest: (algorithm, data) => new Uint8Array(openssl(['dgst', '-engine', 'gost', `-${algorithm}`, '-binary'], data)),

    generateKey(kind, paramset) {
      counter++;
      const keyPath = file('key.pem');
      const publicKeyPath = file('pub.pem');
      openssl(['genpkey', '-engine', 'gost', '-algorithm', kind, '-pkeyopt', `paramset:${paramset}`, '-out', keyPath]);
      openssl(['pkey', '-engine', 'gost', '-in', keyPath, '-pubout', '-out', publicKeyPath]);
      const spki = new Uint8Array(openssl(['pkey', '-engine', 'gost', '-pubin', '-in', publicKeyPath, '-outform', 'DER']));
      const text = openssl(['pkey', '-engine', 'gost', '-in', keyPath, '-text', '-noout']).toString('latin1');
      const hex = /Private key:\s*([0-9A-Fa-f]+)/.exec(text)?.[1];
      if (hex === undefined) throw new Error(`no private key in: ${text}`);
      return { kind, keyPath, publicKeyPath, rawPublicKey: rawKeyOfSpki(spki), privateKey: BigInt(`0x${hex}`) };
    },

    sign(key, digest) {
      counter++;
      const digestPath = file('digest.bin');
      writeFileSync(digestPath, digest);
      return new Uint8Array(openssl(['pkeyutl', '-engine', 'gost', '-sign', '-inkey', key.keyPath, '-in', digestPath]));
    },

    verify(key, digest, signature) {
      counter++;
      const digestPath = file('digest.bin');
      const signaturePath = file('signature.bin');
      writeFileSync(digestPath, digest);
      writeFileSync(signaturePath, signature);
      try {
        const out = openssl(['pkeyutl', '-engine', 'gost', '-verify', '-pubin', '-inkey', key.publicKeyPath, '-in', digestPath, '-sigfile', signaturePath]);
        return /Signature Verified Successfully/.test(out.toString());
      } catch {
        return false;
      }
    },

    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The SubjectPublicKeyInfo's BIT STRING holds an OCTET STRING of the raw key (RFC 4491 §2.3.2,
 * RFC 9215 §4.3): 64 bytes (04 40 …) or 128 bytes (04 81 80 …), the last bytes of the DER.
 */
function rawKeyOfSpki(spki: Uint8Array): Uint8Array {
  for (const [length, header] of [[64, [0x04, 0x40]], [128, [0x04, 0x81, 0x80]]] as const) {
    const at = spki.length - length - header.length;
    if (header.every((byte, i) => spki[at + i] === byte) && spki[at - 1] === 0 /* BIT STRING unused bits */) return spki.slice(spki.length - length);
  }
  throw new Error('unexpected GOST SubjectPublicKeyInfo');
}

export const readVector = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../data/vectors/ozdst/${name}`, import.meta.url)));
