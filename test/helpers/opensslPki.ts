// Keys, certificates and CMS made by the `openssl` command line at test time, so the CMS
// and identity tests are independent of our own issuance and signing code.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toPem } from '../../src/pki/issue/issue.ts';
import { pemToDer } from './pem.ts';

export type KeyKind = 'rsa2048' | 'rsa2048e3' | 'rsa1024' | 'p256' | 'p384' | 'p521' | 'secp256k1' | 'ed25519';

export interface TestCert {
  name: string;
  certPath: string;
  keyPath: string;
  certDer: Uint8Array;
  privateKey: KeyObject;
}

export interface LeafOptions {
  subject?: string;
  /** Extension lines for `x509 -extfile` (default: a sign-in leaf with SKI and AKI). */
  extensions?: string;
  selfSigned?: boolean;
  /** Force this serial number (default: a fresh one per certificate). */
  serial?: number;
  /** Certify the key of an earlier certificate instead of a new key. */
  keyOf?: TestCert;
}

export interface TestPki {
  dir: string;
  root: TestCert;
  /** A leaf signed by the root. `subject` uses `openssl -subj` syntax (with pinfl/tinOid names). */
  leaf(name: string, kind: KeyKind, options?: LeafOptions): TestCert;
  /** `openssl cms -sign` over `content` with extra CLI arguments; returns the DER. */
  cmsSign(signer: TestCert, content: Uint8Array, args?: string[]): Uint8Array;
  /** `openssl cms -verify` (chain to the root, given content when detached): true when it verifies. */
  cmsVerify(cms: Uint8Array, content: Uint8Array): boolean;
  cleanup(): void;
}

// `req -subj` only knows registered names, so the national OIDs get short names here.
const CONFIG = `oid_section = new_oids
[new_oids]
pinfl = 1.2.860.3.16.1.2
tinOid = 1.2.860.3.16.1.1
[req]
distinguished_name = dn
[dn]
`;

const LEAF_EXTENSIONS = `basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
extendedKeyUsage=clientAuth,emailProtection
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`;

const KEY_ARGS: Record<KeyKind, string[]> = {
  rsa2048: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  rsa2048e3: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-pkeyopt', 'rsa_keygen_pubexp:3'],
  rsa1024: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'],
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  p521: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'],
  secp256k1: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1'],
  ed25519: ['-algorithm', 'ED25519'],
};

function openssl(args: string[], input?: Uint8Array): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function cmsSignFiles(certPath: string, keyPath: string, content: Uint8Array, args: string[]): Uint8Array {
  return new Uint8Array(openssl(['cms', '-sign', '-binary', '-signer', certPath, '-inkey', keyPath, '-outform', 'DER', ...args], content));
}

/**
 * `openssl cms -sign` over `content` with a key and certificate made elsewhere (the test PKI of
 * testPki.ts), its `chain` carried in the CMS (-certfile); returns the DER.
 */
export function opensslCmsSign(signer: { certDer: Uint8Array; privateKey: KeyObject; chain?: Uint8Array[] }, content: Uint8Array, args: string[] = []): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-cms-'));
  try {
    const certPath = join(dir, 'signer.pem');
    const keyPath = join(dir, 'signer.key');
    writeFileSync(certPath, toPem(signer.certDer, 'CERTIFICATE'));
    writeFileSync(keyPath, signer.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const certfile: string[] = [];
    if (signer.chain !== undefined && signer.chain.length > 0) {
      const chainPath = join(dir, 'chain.pem');
      writeFileSync(chainPath, signer.chain.map((der) => toPem(der, 'CERTIFICATE')).join(''));
      certfile.push('-certfile', chainPath);
    }
    return cmsSignFiles(certPath, keyPath, content, [...certfile, ...args]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-pki-'));
  const configPath = join(dir, 'openssl.cnf');
  writeFileSync(configPath, CONFIG);
  let serial = 0x1000;

  const load = (name: string, certPath: string, keyPath: string): TestCert => ({
    name,
    certPath,
    keyPath,
    certDer: pemToDer(readFileSync(certPath, 'utf8')),
    privateKey: createPrivateKey(readFileSync(keyPath)),
  });

  const makeKey = (name: string, kind: KeyKind): string => {
    const keyPath = join(dir, `${name}.key`);
    openssl(['genpkey', ...KEY_ARGS[kind], '-out', keyPath]);
    return keyPath;
  };

  const rootKey = makeKey('root', 'p256');
  const rootCert = join(dir, 'root.pem');
  openssl(['req', '-config', configPath, '-x509', '-key', rootKey, '-subj', '/CN=Yagona Test Root/O=Yagona Test/C=UZ',
    '-days', '30', '-sha256', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash', '-out', rootCert]);
  const root = load('root', rootCert, rootKey);

  return {
    dir,
    root,
    leaf(name, kind, options = {}) {
      const keyPath = options.keyOf?.keyPath ?? makeKey(name, kind);
      const csrPath = join(dir, `${name}.csr`);
      const certPath = join(dir, `${name}.pem`);
      const extPath = join(dir, `${name}.ext`);
      const subject = options.subject ?? `/CN=${name}/C=UZ`;
      writeFileSync(extPath, options.extensions ?? LEAF_EXTENSIONS);
      openssl(['req', '-config', configPath, '-new', '-key', keyPath, '-utf8', '-multivalue-rdn',
        '-subj', subject, '-out', csrPath]);
      const signer = options.selfSigned ? ['-signkey', keyPath] : ['-CA', rootCert, '-CAkey', rootKey];
      serial += 1;
      openssl(['x509', '-req', '-in', csrPath, ...signer, '-set_serial', `0x${(options.serial ?? serial).toString(16)}`,
        '-days', '10', '-extfile', extPath, '-out', certPath]);
      return load(name, certPath, keyPath);
    },
    cmsSign(signer, content, args = []) {
      return cmsSignFiles(signer.certPath, signer.keyPath, content, args);
    },
    cmsVerify(cms, content) {
      const cmsPath = join(dir, `verify-${Date.now()}-${Math.random()}.der`);
      const contentPath = `${cmsPath}.content`;
      writeFileSync(cmsPath, cms);
      writeFileSync(contentPath, content);
      try {
        openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', cmsPath, '-content', contentPath,
          '-CAfile', rootCert, '-purpose', 'any', '-out', '/dev/null']);
        return true;
      } catch {
        return false;
      }
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
