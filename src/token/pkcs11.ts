// A citizen's key token through its PKCS#11 module (OASIS PKCS#11 v2.40), for the signing agent
// and `admin sign-in --pkcs11`. The private key never leaves the token: we find it by the
// CKA_ID its certificate shares (PKCS#15 convention), hand the token the bytes to sign
// (C_Sign), and build the CMS around the result with the same builder the sign-in page uses.
//
// Each operation loads and initialises the module afresh and finalises it after: tokens
// inserted or pulled out in between are seen, and no half-open session outlives an error.
// Callers serialise operations (one module, one caller at a time; see agent/server.ts).
import { createHash } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { parseCertificateCached } from '../pki/x509/certificate.ts';
import { ecdsaRawToDer } from '../pki/algorithms/encodings.ts';
import { signCmsAsync, type AsyncCmsDigest } from '../pki/issue/cmsSignAsync.ts';
import { algorithmIdentifier, nullValue, octetString, sequence } from '../pki/asn1/derWrite.ts';
import type { ParsedCertificate } from '../pki/x509/model.ts';
import { OID } from '../pki/asn1/oids.ts';

type Handle = Buffer;
type Session = { p11: pkcs11js.PKCS11; session: Handle };

export type TokenErrorCode =
  | 'no_module' | 'no_token' | 'token_removed' | 'pin_incorrect' | 'pin_locked'
  | 'certificate_not_found' | 'unsupported_key' | 'token_error';

export class TokenError extends Error {
  override name = 'TokenError';
  readonly code: TokenErrorCode;
  /** Extra facts for the caller, e.g. `{ pinFinalTry: true }`. */
  readonly details: Record<string, unknown>;

  constructor(code: TokenErrorCode, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

export interface TokenInfo {
  /** CK_SLOT_ID in decimal, as `pkcs11-tool -L` prints it in parentheses (there in hex). */
  slot: string;
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  /** CKF_USER_PIN_COUNT_LOW / FINAL_TRY / LOCKED (PKCS#11 v2.40 §5.5 CK_TOKEN_INFO). */
  pinCountLow: boolean;
  pinFinalTry: boolean;
  pinLocked: boolean;
  /** A PIN pad on the reader: the PIN is typed there, not given to us. */
  pinPad: boolean;
}

export interface TokenCertificate {
  /** `<slot>:<CKA_ID hex>`: names the certificate and, through CKA_ID, its private key. */
  id: string;
  slot: string;
  tokenLabel: string;
  label: string;
  der: Uint8Array;
  /** CA certificates from the same token, issuer first, sent along in the CMS. */
  chain: Uint8Array[];
  certificate: ParsedCertificate;
}

export interface SignRequest {
  certificateId: string;
  /** Ignored on a token with a PIN pad. */
  pin: string;
  content: Uint8Array;
}

export interface TokenModule {
  readonly path: string;
  tokens(): TokenInfo[];
  /** Signing certificates (end entity, digitalSignature or nonRepudiation) on every present token. */
  certificates(): TokenCertificate[];
  /** Logs in, signs `content` as an attached CMS SignedData, logs out. */
  signCms(request: SignRequest): Promise<Uint8Array>;
}

const C = pkcs11js;
const removedCodes = new Set([C.CKR_TOKEN_NOT_PRESENT, C.CKR_DEVICE_REMOVED, C.CKR_SLOT_ID_INVALID, C.CKR_SESSION_HANDLE_INVALID, C.CKR_SESSION_CLOSED, C.CKR_TOKEN_NOT_RECOGNIZED]);
const wrongPinCodes = new Set([C.CKR_PIN_INCORRECT, C.CKR_PIN_INVALID, C.CKR_PIN_LEN_RANGE]);
// Room for any signature we make: RSA-4096 is 512 bytes, P-521 r‖s 132.
const maxSignatureBytes = 1024;

export function openTokenModule(path: string): TokenModule {
  return {
    path,
    tokens: () => withModule(path, (p11) => presentSlots(p11).map((slot) => tokenInfo(p11, slot))),
    certificates: () => withModule(path, (p11) => presentSlots(p11).flatMap((slot) => withSession({ p11, slot }, (s) => signingCertificates(s, slot)))),
    signCms: (request) => withModuleAsync(path, (p11) => signOnToken(p11, request)),
  };
}

function load(path: string): pkcs11js.PKCS11 {
  const p11 = new pkcs11js.PKCS11();
  try {
    p11.load(path);
  } catch (error) {
    throw new TokenError('no_module', `cannot load the PKCS#11 module ${path}: ${(error as Error).message}`, {}, { cause: error });
  }
  try {
    p11.C_Initialize();
  } catch (error) {
    p11.close();
    throw mapError(error, `cannot initialise the PKCS#11 module ${path}`);
  }
  return p11;
}

function withModule<T>(path: string, work: (p11: pkcs11js.PKCS11) => T): T {
  const p11 = load(path);
  try {
    return work(p11);
  } catch (error) {
    throw mapError(error, 'the token refused the operation');
  } finally {
    finalize(p11);
  }
}

async function withModuleAsync<T>(path: string, work: (p11: pkcs11js.PKCS11) => Promise<T>): Promise<T> {
  const p11 = load(path);
  try {
    return await work(p11);
  } catch (error) {
    throw mapError(error, 'the token refused the operation');
  } finally {
    finalize(p11);
  }
}

/** Cleanup after the operation: its outcome is what the caller needs, so a failing cleanup does not replace it. */
function finalize(p11: pkcs11js.PKCS11): void {
  quietly(() => p11.C_Finalize());
  quietly(() => p11.close());
}

function quietly(step: () => void): void {
  try {
    step();
  } catch {
    // A token pulled out mid-operation leaves sessions the module can no longer close.
  }
}

/** Slots with an initialised token: a blank card (or SoftHSM2's spare slot) holds nothing to sign with. */
function presentSlots(p11: pkcs11js.PKCS11): Handle[] {
  return p11.C_GetSlotList(true).filter((slot) => (p11.C_GetTokenInfo(slot).flags & C.CKF_TOKEN_INITIALIZED) !== 0);
}

// A CK_SLOT_ID is a CK_ULONG: 8 bytes on 64-bit Unix, 4 on Windows (LLP64).
const slotId = (slot: Handle): string => (slot.length === 8 ? slot.readBigUInt64LE(0) : BigInt(slot.readUInt32LE(0))).toString();
const trimmed = (text: string): string => text.replace(/\0/g, '').trim();

function tokenInfo(p11: pkcs11js.PKCS11, slot: Handle): TokenInfo {
  const info = p11.C_GetTokenInfo(slot);
  return {
    slot: slotId(slot),
    label: trimmed(info.label),
    manufacturer: trimmed(info.manufacturerID),
    model: trimmed(info.model),
    serial: trimmed(info.serialNumber),
    pinCountLow: (info.flags & C.CKF_USER_PIN_COUNT_LOW) !== 0,
    pinFinalTry: (info.flags & C.CKF_USER_PIN_FINAL_TRY) !== 0,
    pinLocked: (info.flags & C.CKF_USER_PIN_LOCKED) !== 0,
    pinPad: (info.flags & C.CKF_PROTECTED_AUTHENTICATION_PATH) !== 0,
  };
}

function withSession<T>(input: { p11: pkcs11js.PKCS11; slot: Handle }, work: (s: Session) => T): T {
  const session = input.p11.C_OpenSession(input.slot, C.CKF_SERIAL_SESSION);
  try {
    return work({ p11: input.p11, session });
  } finally {
    input.p11.C_CloseSession(session);
  }
}

function findObjects(s: Session, template: pkcs11js.Template): Handle[] {
  s.p11.C_FindObjectsInit(s.session, template);
  try {
    return s.p11.C_FindObjects(s.session, 64);
  } finally {
    s.p11.C_FindObjectsFinal(s.session);
  }
}

function bufferAttribute(s: Session, object: Handle, type: number): Buffer | undefined {
  const [attribute] = s.p11.C_GetAttributeValue(s.session, object, [{ type }]);
  return Buffer.isBuffer(attribute?.value) ? attribute.value : undefined;
}

interface StoredCertificate {
  keyId: string;
  label: string;
  der: Uint8Array;
  parsed: ParsedCertificate;
}

function storedCertificates(s: Session): StoredCertificate[] {
  return findObjects(s, [{ type: C.CKA_CLASS, value: C.CKO_CERTIFICATE }, { type: C.CKA_CERTIFICATE_TYPE, value: C.CKC_X_509 }])
    .flatMap((object) => {
      const value = bufferAttribute(s, object, C.CKA_VALUE);
      if (value === undefined) return [];
      const der = new Uint8Array(value);
      let parsed: ParsedCertificate;
      try {
        parsed = parseCertificateCached(der);
      } catch {
        return []; // a certificate we cannot parse cannot sign in either
      }
      const keyId = bufferAttribute(s, object, C.CKA_ID)?.toString('hex') ?? '';
      const label = bufferAttribute(s, object, C.CKA_LABEL)?.toString('utf8') ?? '';
      return [{ keyId, label, der, parsed }];
    });
}

function isSigningCertificate(cert: ParsedCertificate): boolean {
  if (cert.basicConstraints?.ca === true) return false;
  return cert.keyUsage === undefined || cert.keyUsage.has('digitalSignature') || cert.keyUsage.has('nonRepudiation');
}

/** Issuer first, found among the token's own certificates by subject = issuer (no signature check: the service validates). */
function chainOf(leaf: ParsedCertificate, all: StoredCertificate[]): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let current = leaf;
  for (let depth = 0; depth < 4; depth += 1) {
    if (current.subject.canonical === current.issuer.canonical) break;
    const issuer = all.find((c) => c.parsed.basicConstraints?.ca === true && c.parsed.subject.canonical === current.issuer.canonical);
    if (issuer === undefined) break;
    chain.push(issuer.der);
    current = issuer.parsed;
  }
  return chain;
}

function signingCertificates(s: Session, slot: Handle): TokenCertificate[] {
  const tokenLabel = trimmed(s.p11.C_GetTokenInfo(slot).label);
  const all = storedCertificates(s);
  return all
    .filter((c) => c.keyId !== '' && isSigningCertificate(c.parsed))
    .map((c) => ({
      id: `${slotId(slot)}:${c.keyId}`,
      slot: slotId(slot),
      tokenLabel,
      label: c.label,
      der: c.der,
      chain: chainOf(c.parsed, all),
      certificate: c.parsed,
    }));
}

function parseCertificateId(id: string): { slot: string; keyId: string } {
  const match = /^(\d{1,20}):([0-9a-f]{2,128})$/.exec(id);
  if (match === null) throw new TokenError('certificate_not_found', `${JSON.stringify(id)} does not name a certificate on a token`);
  return { slot: match[1]!, keyId: match[2]! };
}

async function signOnToken(p11: pkcs11js.PKCS11, request: SignRequest): Promise<Uint8Array> {
  const wanted = parseCertificateId(request.certificateId);
  // The id came from a listing: a slot gone since means the token was pulled out.
  const slot = presentSlots(p11).find((candidate) => slotId(candidate) === wanted.slot);
  if (slot === undefined) throw new TokenError('token_removed', 'the token holding this certificate is not present any more');
  const info = tokenInfo(p11, slot);
  if (info.pinLocked) throw new TokenError('pin_locked', 'the token\'s PIN is locked; unblock it with its PUK', pinState(info));
  const session = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION);
  const s: Session = { p11, session };
  try {
    const certificate = signingCertificates(s, slot).find((c) => c.id === request.certificateId);
    if (certificate === undefined) throw new TokenError('certificate_not_found', 'no signing certificate with this id on the token');
    login(s, slot, info, request.pin);
    try {
      const key = privateKeyFor(s, wanted.keyId);
      return await signCmsAsync({
        content: request.content,
        signerCertDer: certificate.der,
        extraCertDers: certificate.chain,
        detached: false,
        ...signerFor(s, slot, key, certificate.certificate),
      });
    } finally {
      quietly(() => p11.C_Logout(session));
    }
  } finally {
    quietly(() => p11.C_CloseSession(session));
  }
}

function pinState(info: TokenInfo): Record<string, boolean> {
  return { pinCountLow: info.pinCountLow, pinFinalTry: info.pinFinalTry, pinLocked: info.pinLocked };
}

function login(s: Session, slot: Handle, info: TokenInfo, pin: string): void {
  try {
    if (info.pinPad) s.p11.C_Login(s.session, C.CKU_USER);
    else s.p11.C_Login(s.session, C.CKU_USER, pin);
  } catch (error) {
    const code = pkcs11Code(error);
    if (code === C.CKR_USER_ALREADY_LOGGED_IN) return;
    if (code === C.CKR_PIN_LOCKED) throw new TokenError('pin_locked', 'the token\'s PIN is locked; unblock it with its PUK', { pinLocked: true }, { cause: error });
    if (code !== undefined && wrongPinCodes.has(code)) {
      // The token may have locked on this very try: say so rather than "wrong PIN" (PKCS#11 §5.5).
      const after = tokenInfo(s.p11, slot);
      if (after.pinLocked) throw new TokenError('pin_locked', 'wrong PIN; the token has now locked it', pinState(after), { cause: error });
      throw new TokenError('pin_incorrect', after.pinFinalTry ? 'wrong PIN; one more wrong PIN locks the token' : 'wrong PIN', pinState(after), { cause: error });
    }
    throw error;
  }
}

interface PrivateKey {
  handle: Handle;
  type: 'ec' | 'rsa';
}

function privateKeyFor(s: Session, keyId: string): PrivateKey {
  const [handle] = findObjects(s, [{ type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY }, { type: C.CKA_ID, value: Buffer.from(keyId, 'hex') }]);
  if (handle === undefined) throw new TokenError('certificate_not_found', 'the token holds the certificate but not its private key');
  const [attribute] = s.p11.C_GetAttributeValue(s.session, handle, [{ type: C.CKA_KEY_TYPE }]);
  const keyType = Buffer.isBuffer(attribute?.value) ? ulong(attribute.value) : attribute?.value;
  if (keyType === C.CKK_EC) return { handle, type: 'ec' };
  if (keyType === C.CKK_RSA) return { handle, type: 'rsa' };
  throw new TokenError('unsupported_key', 'only EC and RSA keys sign in');
}

type Signer = { digest: AsyncCmsDigest; signatureAlgorithm: Uint8Array; sign: (data: Uint8Array) => Promise<Uint8Array> };

const ecdsaOid: Record<AsyncCmsDigest, string> = { sha256: OID.ecdsaWithSHA256, sha384: OID.ecdsaWithSHA384, sha512: OID.ecdsaWithSHA512 };
const ecDigest: Record<string, AsyncCmsDigest> = { 'P-256': 'sha256', 'P-384': 'sha384', 'P-521': 'sha512' };

function signerFor(s: Session, slot: Handle, key: PrivateKey, certificate: ParsedCertificate): Signer {
  const mechanisms = new Set(s.p11.C_GetMechanismList(slot));
  if (key.type === 'ec') {
    const curve = certificate.publicKey.kind === 'ec' ? certificate.publicKey.curve : 'other';
    const digest = ecDigest[curve];
    if (digest === undefined) throw new TokenError('unsupported_key', `EC curve ${curve} does not sign in`);
    // CKM_ECDSA signs a digest we compute (every token has it; CKM_ECDSA_SHA256 is rarer) and
    // returns r‖s (PKCS#11 v2.40 §2.3.1), which CMS carries as an Ecdsa-Sig-Value.
    return {
      digest,
      signatureAlgorithm: algorithmIdentifier(ecdsaOid[digest]),
      sign: async (data) => ecdsaRawToDer(await tokenSign(s, key.handle, C.CKM_ECDSA, createHash(digest).update(data).digest())),
    };
  }
  // PKCS#1 v1.5 with SHA-256: hashed on the token when it can, else the DigestInfo
  // (RFC 8017 §9.2) signed raw by CKM_RSA_PKCS, all many smart cards offer.
  const onToken = mechanisms.has(C.CKM_SHA256_RSA_PKCS);
  return {
    digest: 'sha256',
    signatureAlgorithm: algorithmIdentifier(OID.sha256WithRSAEncryption, nullValue()),
    sign: (data) => onToken
      ? tokenSign(s, key.handle, C.CKM_SHA256_RSA_PKCS, Buffer.from(data))
      : tokenSign(s, key.handle, C.CKM_RSA_PKCS, Buffer.from(digestInfo(createHash('sha256').update(data).digest()))),
  };
}

/** A CK_ULONG as the binding returns it: the native width (8 bytes on 64-bit Unix, 4 on Windows), little-endian. */
function ulong(bytes: Buffer): number {
  return bytes.length === 8 ? Number(bytes.readBigUInt64LE(0)) : bytes.readUInt32LE(0);
}

function digestInfo(hash: Uint8Array): Uint8Array {
  return sequence(algorithmIdentifier(OID.sha256, nullValue()), octetString(hash));
}

async function tokenSign(s: Session, key: Handle, mechanism: number, data: Buffer): Promise<Uint8Array> {
  s.p11.C_SignInit(s.session, { mechanism }, key);
  return new Uint8Array(await s.p11.C_SignAsync(s.session, data, Buffer.alloc(maxSignatureBytes)));
}

function pkcs11Code(error: unknown): number | undefined {
  return error instanceof pkcs11js.Pkcs11Error ? error.code : undefined;
}

/** TokenErrors pass; Cryptoki return values become our codes; anything else a token_error. */
function mapError(error: unknown, what: string): TokenError {
  if (error instanceof TokenError) return error;
  const code = pkcs11Code(error);
  if (code !== undefined && removedCodes.has(code)) return new TokenError('token_removed', 'the token was removed', {}, { cause: error });
  if (code === C.CKR_PIN_LOCKED) return new TokenError('pin_locked', 'the token\'s PIN is locked', { pinLocked: true }, { cause: error });
  return new TokenError('token_error', `${what}: ${(error as Error).message}`, {}, { cause: error });
}
