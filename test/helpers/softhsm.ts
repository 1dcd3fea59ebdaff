// A real PKCS#11 token for tests: SoftHSM2 (Debian `softhsm2`) with its own configuration and
// token directory under a temp dir, initialised by softhsm2-util. Keys are generated ON the token
// (C_GenerateKeyPair) as sensitive and non-extractable; only their public halves come out, to be
// certified by the test CA, and the certificates are stored back on the token beside their keys
// under the same CKA_ID, as a CA's issuing station does with a citizen's token.
import { execFileSync } from 'node:child_process';
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';
import { readOctetString, parseDer } from '../../src/pki/asn1/der.ts';
import { oid, sequence } from '../../src/pki/asn1/derWrite.ts';
import { issueCertificate, type IssueOptions } from '../../src/pki/issue/issue.ts';
import { subordinateCa, type Authority, type TestPki } from './testPki.ts';

export const softhsmModule = '/usr/lib/softhsm/libsofthsm2.so';
const C = pkcs11js;
const day = 86_400_000;

export interface SoftToken extends TokenObjects {
  dir: string;
  /** Its softhsm2.conf; `activate()` points SOFTHSM2_CONF back at it after another token took over. */
  conf: string;
  activate(): void;
  label: string;
  pin: string;
  soPin: string;
  /** CK_SLOT_ID of the token in decimal. */
  slot: string;
  remove(): void;
}

/** A SoftHSM2 configuration whose token directory is empty: a module with no token in it. */
export function emptySoftHsmConf(): { conf: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-softhsm-empty-'));
  const conf = join(dir, 'softhsm2.conf');
  execFileSync('mkdir', ['-p', join(dir, 'tokens')]);
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  return { conf, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Points SOFTHSM2_CONF (read by the module at C_Initialize, in this process and its children)
 * at a fresh token directory and initialises one token in it.
 */
export function createSoftToken(options: { label?: string; pin?: string; soPin?: string } = {}): SoftToken {
  if (!existsSync(softhsmModule)) {
    throw new Error(`SoftHSM2 is not installed (${softhsmModule}): apt-get install softhsm2 (npm test as root does it)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'yagona-softhsm-'));
  const tokens = join(dir, 'tokens');
  execFileSync('mkdir', ['-p', tokens]);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  const label = options.label ?? 'Yagona test token';
  const pin = options.pin ?? '123456';
  const soPin = options.soPin ?? '87654321';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], { stdio: 'pipe' });
  const slot = withUserSession(softhsmModule, pin, label, (_p11, _session, slotHandle) => slotHandle.readBigUInt64LE(0).toString());

  return {
    dir, conf, label, pin, soPin, slot,
    activate() {
      process.env.SOFTHSM2_CONF = conf;
    },
    ...tokenObjects(softhsmModule, label, pin),
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TokenObjects {
  /** Generates a key pair on the token and returns its CKA_ID (hex) and public key. */
  generateKey(kind: TokenKeyKind, label: string): { keyId: string; publicKey: KeyObject; handle: Buffer };
  /** Stores a certificate (end entity under `keyId`, or a CA certificate) on the token. */
  storeCertificate(der: Uint8Array, label: string, keyId?: string): void;
  /** Reads attributes of the private key with `keyId`, for assertions about extractability. */
  privateKeyAttributes(keyId: string): { sensitive: boolean; extractable: boolean; valueReadable: boolean };
}

/** Key generation and certificate storage on the token labelled `label` of any PKCS#11 module, logged in with `pin`. */
export function tokenObjects(module: string, label: string, pin: string): TokenObjects {
  return {
    generateKey(kind, keyLabel) {
      const id = randomBytes(8);
      return withUserSession(module, pin, label, (p11, session) => {
        const common = [{ type: C.CKA_TOKEN, value: true }, { type: C.CKA_ID, value: id }, { type: C.CKA_LABEL, value: keyLabel }];
        const privateTemplate = [
          ...common,
          { type: C.CKA_PRIVATE, value: true },
          { type: C.CKA_SIGN, value: true },
          { type: C.CKA_SENSITIVE, value: true },
          { type: C.CKA_EXTRACTABLE, value: false },
        ];
        const keys = kind !== 'rsa-2048'
          ? p11.C_GenerateKeyPair(session, { mechanism: C.CKM_EC_KEY_PAIR_GEN },
            [...common, { type: C.CKA_VERIFY, value: true }, { type: C.CKA_EC_PARAMS, value: Buffer.from(oid(curves[kind].oid)) }],
            privateTemplate)
          : p11.C_GenerateKeyPair(session, { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN },
            [...common, { type: C.CKA_VERIFY, value: true }, { type: C.CKA_MODULUS_BITS, value: 2048 }, { type: C.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }],
            privateTemplate);
        return { keyId: id.toString('hex'), publicKey: publicKeyOf(p11, session, keys.publicKey, kind), handle: keys.privateKey };
      });
    },
    storeCertificate(der, certLabel, keyId) {
      withUserSession(module, pin, label, (p11, session) => {
        const tbs = parseDer(der).children[0]!;
        const first = tbs.children[0]?.tag === 0xa0 ? 1 : 0;
        p11.C_CreateObject(session, [
          { type: C.CKA_CLASS, value: C.CKO_CERTIFICATE },
          { type: C.CKA_CERTIFICATE_TYPE, value: C.CKC_X_509 },
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_PRIVATE, value: false },
          { type: C.CKA_LABEL, value: certLabel },
          { type: C.CKA_ID, value: keyId === undefined ? randomBytes(8) : Buffer.from(keyId, 'hex') },
          { type: C.CKA_SUBJECT, value: Buffer.from(tbs.children[first + 4]!.bytes) },
          { type: C.CKA_VALUE, value: Buffer.from(der) },
        ]);
      });
    },
    privateKeyAttributes(keyId) {
      return withUserSession(module, pin, label, (p11, session) => {
        p11.C_FindObjectsInit(session, [{ type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY }, { type: C.CKA_ID, value: Buffer.from(keyId, 'hex') }]);
        const [handle] = p11.C_FindObjects(session, 2);
        p11.C_FindObjectsFinal(session);
        if (handle === undefined) throw new Error(`no private key ${keyId}`);
        const [sensitive, extractable] = p11.C_GetAttributeValue(session, handle, [{ type: C.CKA_SENSITIVE }, { type: C.CKA_EXTRACTABLE }]);
        const [keyType] = p11.C_GetAttributeValue(session, handle, [{ type: C.CKA_KEY_TYPE }]);
        // The secret part: CKA_VALUE of an EC key, CKA_PRIVATE_EXPONENT of an RSA key.
        const secret = (keyType!.value as Buffer)[0] === C.CKK_EC ? C.CKA_VALUE : C.CKA_PRIVATE_EXPONENT;
        let valueReadable = true;
        try {
          p11.C_GetAttributeValue(session, handle, [{ type: secret }]);
        } catch (error) {
          // CKR_ATTRIBUTE_SENSITIVE: the token will not hand the key out (PKCS#11 v2.40 §4.1.2).
          if (!(error instanceof pkcs11js.Pkcs11Error) || error.code !== C.CKR_ATTRIBUTE_SENSITIVE) throw error;
          valueReadable = false;
        }
        return { sensitive: asBool(sensitive?.value), extractable: asBool(extractable?.value), valueReadable };
      });
    },
  };
}

/**
 * A token as a citizen gets it from a qualified CA: an EC P-256 key made on a fresh SoftHSM2
 * token, its certificate for `subject`, and the CA's certificate beside it (the chain the agent
 * sends). Returns the token and the key's CKA_ID.
 */
export async function softTokenCitizen(pki: TestPki, label: string, subject: string): Promise<{ token: SoftToken; keyId: string }> {
  const qca = await qualifiedCa(pki);
  const token = createSoftToken({ label });
  const key = token.generateKey('ec-p256', 'sign-in key');
  token.storeCertificate(await certifyTokenKey(qca, key.publicKey, subject), 'sign-in', key.keyId);
  token.storeCertificate(qca.certDer, 'Test Qualified Citizen CA');
  return { token, keyId: key.keyId };
}

/** A certificate for a key generated on the token, issued by the test CA with the QSCD policy (login/assurance.ts). */
export async function certifyTokenKey(
  ca: Authority, publicKey: KeyObject, subject: string, extra: Partial<IssueOptions> = {}, now = new Date(),
): Promise<Uint8Array> {
  const issued = await issueCertificate({
    subject,
    publicKey,
    issuer: { certDer: ca.certDer, privateKey: ca.privateKey },
    notBefore: new Date(now.getTime() - day),
    notAfter: new Date(now.getTime() + 365 * day),
    keyUsage: ['digitalSignature', 'nonRepudiation'],
    extKeyUsage: ['clientAuth', 'emailProtection'],
    extraExtensions: [{ oid: '2.5.29.32', critical: false, valueDer: qscdPolicy }],
    ...extra,
  });
  return issued.der;
}

/** certificatePolicies with ETSI QCP-n-qscd (EN 319 411-2). */
export const qscdPolicy = sequence(sequence(oid('0.4.0.194112.1.2')));

/**
 * A CA under the test root that issues token certificates and asserts the QSCD policy itself:
 * RFC 5280 policy processing keeps a leaf's policy only when every CA on the path carries it
 * (or anyPolicy), and the service grants `hwk` only for a policy the path is valid for.
 */
export function qualifiedCa(pki: TestPki, now = new Date()): Promise<Authority> {
  return subordinateCa('CN=Test Qualified Citizen CA,O=Yagona Test,C=UZ', pki.root, now, {
    extraExtensions: [{ oid: '2.5.29.32', critical: false, valueDer: qscdPolicy }],
  });
}

export function withUserSession<T>(module: string, pin: string, label: string, work: (p11: pkcs11js.PKCS11, session: Buffer, slot: Buffer) => T): T {
  const p11 = new pkcs11js.PKCS11();
  p11.load(module);
  p11.C_Initialize();
  try {
    const slot = p11.C_GetSlotList(true).find((candidate) => p11.C_GetTokenInfo(candidate).label.trim() === label);
    if (slot === undefined) throw new Error(`no token labelled ${label}`);
    const session = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    try {
      p11.C_Login(session, C.CKU_USER, pin);
      try {
        return work(p11, session, slot);
      } finally {
        p11.C_Logout(session);
      }
    } finally {
      p11.C_CloseSession(session);
    }
  } finally {
    p11.C_Finalize();
    p11.close();
  }
}

export type TokenKeyKind = 'ec-p256' | 'ec-p384' | 'rsa-2048';

// Named curves by OID (RFC 5480 §2.1.1.1) and their coordinate size.
const curves = {
  'ec-p256': { oid: '1.2.840.10045.3.1.7', crv: 'P-256', size: 32 },
  'ec-p384': { oid: '1.3.132.0.34', crv: 'P-384', size: 48 },
} as const;

function publicKeyOf(p11: pkcs11js.PKCS11, session: Buffer, handle: Buffer, kind: TokenKeyKind): KeyObject {
  if (kind !== 'rsa-2048') {
    const { crv, size } = curves[kind];
    const [point] = p11.C_GetAttributeValue(session, handle, [{ type: C.CKA_EC_POINT }]);
    // CKA_EC_POINT is the DER OCTET STRING of the uncompressed point 04‖X‖Y (PKCS#11 v2.40 §2.3.3).
    const raw = readOctetString(parseDer(new Uint8Array(point!.value as Buffer)));
    const x = Buffer.from(raw.subarray(1, 1 + size)).toString('base64url');
    const y = Buffer.from(raw.subarray(1 + size, 1 + 2 * size)).toString('base64url');
    return createPublicKey({ key: { kty: 'EC', crv, x, y }, format: 'jwk' });
  }
  const [modulus, exponent] = p11.C_GetAttributeValue(session, handle, [{ type: C.CKA_MODULUS }, { type: C.CKA_PUBLIC_EXPONENT }]);
  return createPublicKey({
    key: { kty: 'RSA', n: (modulus!.value as Buffer).toString('base64url'), e: (exponent!.value as Buffer).toString('base64url') },
    format: 'jwk',
  });
}

function asBool(value: unknown): boolean {
  return Buffer.isBuffer(value) ? value.some((byte) => byte !== 0) : value === true;
}
