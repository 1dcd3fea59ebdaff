// The development PKI of `npm start` and `npm run admin -- dev-pki` (README "Two commands"):
// a root CA, a citizen CA and three demo citizens with password-protected key files. Made
// once; a complete folder is left alone so restarts keep the same trust anchor and files.
import { type KeyObject, randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKeyPair, issueCertificate, type KeyKind, toPem } from './pki/issue/issue.ts';
import { generateGostSigner, type GostKeySigner, gostPrivateKeyInfo, ozdstProfile } from './pki/issue/gostSigner.ts';
import { writePkcs12 } from './pki/pkcs12/pkcs12.ts';
import { parseCertificate } from './pki/x509/certificate.ts';

export interface DevPkiOptions {
  /** The service's public URL, written into the README so the folder says where it belongs. */
  issuerUrl: string;
  /** Recreate even when a complete PKI is there (new CAs: old key files stop working). */
  force?: boolean;
  now?: Date;
}

export interface DevCitizen {
  name: string;
  /** The `.p12` key file. */
  file: string;
  /** The certificate alone (PEM), e.g. for `admin revoke --cert`. */
  certFile: string;
  subject: string;
  keyType: DevKeyType;
}

/** node:crypto key kinds, and an O'zDSt 1092:2009-II key on parameter set A (gost module). */
export type DevKeyType = KeyKind | 'ozdst-a';

export interface DevPkiPaths {
  dir: string;
  trustDir: string;
  intermediatesDir: string;
  rootCaFile: string;
  citizenCaFile: string;
  /** PKCS #8 PEM keys of both CAs (mode 0600), so more certificates can be issued. */
  rootCaKeyFile: string;
  citizenCaKeyFile: string;
  /** The O'zDSt citizen CA (parameter set A key, signed by the root) and its key (GOST PKCS #8 PEM). */
  ozdstCaFile: string;
  ozdstCaKeyFile: string;
  /** The trust policy of the two citizen CAs (TRUST_POLICY_FILE's shape). */
  trustPolicyFile: string;
}

/** Passwords exist only in a fresh result: they are stored nowhere, and printed once by the caller. */
export type DevPki = DevPkiPaths &
  ({ created: true; citizens: Array<DevCitizen & { password: string }> } | { created: false; citizens: DevCitizen[] });

interface CitizenPlan {
  name: string;
  slug: string;
  subject: string;
  keyType: DevKeyType;
}

// PINFL: century/sex digit, birth date DDMMYY, district, serial, check digit (14 digits).
// TIN of an individual entrepreneur: 9 digits. The values are made up.
const citizenPlans: CitizenPlan[] = [
  {
    name: 'Dilnoza Karimova',
    slug: 'dilnoza-karimova',
    subject: 'CN=KARIMOVA DILNOZA RUSTAMOVNA,SN=KARIMOVA,GN=DILNOZA,PINFL=41503900270018,' +
      'emailAddress=dilnoza.karimova@example.uz,L=Toshkent,C=UZ',
    keyType: 'ec-p256',
  },
  {
    name: 'Jasur Toshmatov',
    slug: 'jasur-toshmatov',
    subject: 'CN=TOSHMATOV JASUR BAHODIROVICH,SN=TOSHMATOV,GN=JASUR,PINFL=30211850150042,L=Samarqand,C=UZ',
    keyType: 'rsa-2048',
  },
  {
    // P-384 rather than Ed25519: pkijs, the browser-side CMS library, has no Ed25519, and
    // every demo citizen must be able to sign in on the sign-in page.
    name: 'Sardor Rahimov (entrepreneur)',
    slug: 'sardor-rahimov',
    // As E-IMZO writes an entrepreneur: the person's TIN in UID, the business's in TIN (1.2.860.3.16.1.1).
    subject: 'CN=RAHIMOV SARDOR ALISHEROVICH,SN=RAHIMOV,GN=SARDOR,PINFL=32207780340057,UID=512037849,TIN=512037849,' +
      'O=YaTT RAHIMOV SARDOR,L=Buxoro,C=UZ',
    keyType: 'ec-p384',
  },
  {
    // As E-IMZO writes a citizen: the given name in `name` (2.5.4.41), the person's TIN in UID,
    // placeholders where a person has no organisation; an O'zDSt key from the O'zDSt CA.
    name: "Aziza Yusupova (O'zDSt key, as E-IMZO makes them)",
    slug: 'aziza-yusupova',
    subject: "CN=YUSUPOVA AZIZA KARIMOVNA,SN=YUSUPOVA,2.5.4.41=AZIZA,PINFL=42905950120033,UID=612480357," +
      'O=Не указано,TITLE=(noaniq),L=Toshkent,C=UZ',
    keyType: 'ozdst-a',
  },
];

const manifestName = 'dev-pki.json';
const ownedEntries = ['trust', 'intermediates', 'private', 'citizens', 'README.txt', 'trust-policy.yaml', manifestName];
const dayMs = 86_400_000;

// File names in it are relative to the folder, so it stays valid wherever the folder is used from.
interface Manifest {
  issuerUrl: string;
  createdAt: string;
  citizens: CitizenPlan[];
}

export async function createDevPki(dir: string, options: DevPkiOptions): Promise<DevPki> {
  const paths = devPkiPaths(dir);
  const existing = options.force ? undefined : readCompletePki(paths);
  if (existing !== undefined) {
    return { ...paths, created: false, citizens: existing.citizens.map((citizen) => devCitizen(dir, citizen)) };
  }

  for (const entry of ownedEntries) rmSync(join(dir, entry), { recursive: true, force: true });
  for (const sub of ['trust', 'intermediates', 'citizens']) mkdirSync(join(dir, sub), { recursive: true });
  mkdirSync(join(dir, 'private'), { recursive: true, mode: 0o700 });

  const now = options.now ?? new Date();
  // Five minutes back, so a verifier whose clock is slightly behind accepts fresh certificates.
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const rootKey = await createKeyPair('ec-p384');
  const root = await issueCertificate({
    subject: 'CN=Yagona Dev Root CA,O=Yagona ID (development),C=UZ',
    publicKey: rootKey.publicKey, privateKey: rootKey.privateKey,
    notBefore, notAfter: new Date(now.getTime() + 3652 * dayMs), ca: true,
  });
  const caKey = await createKeyPair('ec-p256');
  const ca = await issueCertificate({
    subject: 'CN=Yagona Dev Citizen CA,O=Yagona ID (development),C=UZ',
    issuer: { certDer: root.der, privateKey: rootKey.privateKey }, publicKey: caKey.publicKey,
    notBefore, notAfter: new Date(now.getTime() + 5 * 365 * dayMs), ca: true, pathLen: 0,
    keyUsage: ['keyCertSign', 'cRLSign'],
  });
  // The O'zDSt CA's certificate is signed by the ECDSA root; it signs its citizens with O'zDSt.
  const ozdstCaKey = generateGostSigner(ozdstProfile('A'));
  const ozdstCa = await issueCertificate({
    subject: "CN=Yagona Dev O'zDSt Citizen CA,O=Yagona ID (development),C=UZ",
    issuer: { certDer: root.der, privateKey: rootKey.privateKey }, publicKey: ozdstCaKey.spki,
    notBefore, notAfter: new Date(now.getTime() + 5 * 365 * dayMs), ca: true, pathLen: 0,
    keyUsage: ['keyCertSign', 'cRLSign'],
  });
  writeFileSync(paths.rootCaFile, root.pem);
  writeFileSync(paths.citizenCaFile, ca.pem);
  writeFileSync(paths.ozdstCaFile, ozdstCa.pem);
  writePrivate(paths.rootCaKeyFile, rootKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  writePrivate(paths.citizenCaKeyFile, caKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  writePrivate(paths.ozdstCaKeyFile, toPem(gostPrivateKeyInfo(ozdstCaKey), 'PRIVATE KEY'));

  const citizens: Array<DevCitizen & { password: string }> = [];
  for (const plan of citizenPlans) {
    const key = await citizenKey(plan.keyType);
    const issuer = plan.keyType === 'ozdst-a' ? { der: ozdstCa.der, key: ozdstCaKey } : { der: ca.der, key: caKey.privateKey };
    const cert = await issueCertificate({
      subject: plan.subject, issuer: { certDer: issuer.der, privateKey: issuer.key }, publicKey: key.publicKey,
      notBefore, notAfter: new Date(now.getTime() + 730 * dayMs),
      keyUsage: ['digitalSignature', 'nonRepudiation'], extKeyUsage: ['clientAuth', 'emailProtection'],
    });
    const password = newPassword();
    const p12 = await writePkcs12({
      privateKey: key.privateKey, certDer: cert.der, chainDers: [issuer.der, root.der], password, friendlyName: plan.name,
    });
    const citizen = devCitizen(dir, plan);
    writePrivate(citizen.file, p12);
    writeFileSync(citizen.certFile, cert.pem);
    citizens.push({ ...citizen, password });
  }

  writeFileSync(paths.trustPolicyFile, trustPolicy([ca.der, ozdstCa.der]));
  writeFileSync(join(dir, 'README.txt'), readme(options.issuerUrl));
  // Written last: its presence marks the folder complete.
  const manifest: Manifest = {
    issuerUrl: options.issuerUrl,
    createdAt: now.toISOString(),
    citizens: citizenPlans,
  };
  writeFileSync(join(dir, manifestName), `${JSON.stringify(manifest, null, 2)}\n`);
  return { ...paths, created: true, citizens };
}

async function citizenKey(keyType: DevKeyType): Promise<{ privateKey: KeyObject | GostKeySigner; publicKey: KeyObject | Uint8Array }> {
  if (keyType !== 'ozdst-a') return createKeyPair(keyType);
  const signer = generateGostSigner(ozdstProfile('A'));
  return { privateKey: signer, publicKey: signer.spki };
}

/** True when `dir` holds a complete development PKI (what createDevPki leaves alone). */
export function hasDevPki(dir: string): boolean {
  return readCompletePki(devPkiPaths(dir)) !== undefined;
}

export function devPkiPaths(dir: string): DevPkiPaths {
  return {
    dir,
    trustDir: join(dir, 'trust'),
    intermediatesDir: join(dir, 'intermediates'),
    rootCaFile: join(dir, 'trust', 'root-ca.pem'),
    citizenCaFile: join(dir, 'intermediates', 'citizen-ca.pem'),
    rootCaKeyFile: join(dir, 'private', 'root-ca.key.pem'),
    citizenCaKeyFile: join(dir, 'private', 'citizen-ca.key.pem'),
    ozdstCaFile: join(dir, 'intermediates', 'ozdst-ca.pem'),
    ozdstCaKeyFile: join(dir, 'private', 'ozdst-ca.key.pem'),
    trustPolicyFile: join(dir, 'trust-policy.yaml'),
  };
}

/**
 * The development PKI's TRUST_POLICY_FILE: its two issuing CAs, pinned by fingerprint, whose
 * leaves must carry clientAuth and may assert PINFL and TIN (docs/configuration.md "Trust policy").
 */
function trustPolicy(caDers: Uint8Array[]): string {
  const entries = caDers.map((der) => {
    const ca = parseCertificate(der);
    const name = ca.subject.rdns.flat().find((attribute) => attribute.type === '2.5.4.3')?.value ?? ca.subject.text;
    return `  - name: ${JSON.stringify(name)}\n    sha256: ${ca.sha256}\n    eku: [clientAuth]\n    identifiers: [pinfl, tin]\n`;
  });
  return `# Made with the development PKI: which CAs may sign whom in (TRUST_POLICY_FILE, docs/configuration.md).\nissuers:\n${entries.join('')}`;
}

function readCompletePki(paths: DevPkiPaths): Manifest | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(paths.dir, manifestName), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  if (!Array.isArray(manifest.citizens) || manifest.citizens.length === 0) return undefined;
  const files = [
    paths.rootCaFile, paths.citizenCaFile, paths.rootCaKeyFile, paths.citizenCaKeyFile, paths.ozdstCaFile, paths.ozdstCaKeyFile, paths.trustPolicyFile,
    ...manifest.citizens.flatMap((citizen) => {
      const { file, certFile } = devCitizen(paths.dir, citizen);
      return [file, certFile];
    }),
  ];
  return files.every((file) => existsSync(file)) ? manifest : undefined;
}

function devCitizen(dir: string, { name, slug, subject, keyType }: CitizenPlan): DevCitizen {
  return {
    name,
    file: join(dir, 'citizens', `${slug}.p12`),
    certFile: join(dir, 'citizens', `${slug}.pem`),
    subject,
    keyType,
  };
}

function writePrivate(file: string, content: string | Uint8Array): void {
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600); // `mode` applies only when the file is new
}

// 20 characters from 32 unambiguous ones: 100 bits, easy to type from the terminal.
function newPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const chars = Array.from({ length: 20 }, () => alphabet[randomInt(alphabet.length)]);
  return [0, 5, 10, 15].map((at) => chars.slice(at, at + 5).join('')).join('-');
}

function readme(issuerUrl: string): string {
  return `Yagona ID development PKI — for local development and tests only. Never trust it in production.

Made for the service at ${issuerUrl}.

trust/root-ca.pem               Yagona Dev Root CA (EC P-384, 10 years): the trust anchor (TRUST_ANCHORS_DIR)
intermediates/citizen-ca.pem    Yagona Dev Citizen CA (EC P-256, pathLen 0): issues citizen certificates
intermediates/ozdst-ca.pem      Yagona Dev O'zDSt Citizen CA (O'zDSt 1092 parameter set A, pathLen 0): issues O'zDSt citizens
private/                        the three CA private keys (PKCS #8 PEM, mode 0600; the O'zDSt one as OpenSSL's gost engine writes GOST keys)
trust-policy.yaml               the trust policy of the two citizen CAs (TRUST_POLICY_FILE)
citizens/*.p12                  demo citizens' key files (PKCS #12, AES-256, each with its own password; the O'zDSt key in
                                a PKCS #8 PrivateKeyInfo with the O'zDSt OIDs, d as 32 little-endian octets)
citizens/*.pem                  the same citizens' certificates alone (for example for \`admin revoke --cert\`)
${manifestName}                    what was made, without passwords

Demo citizens:
${citizenPlans.map((plan) => `  citizens/${plan.slug}.p12  ${plan.name} (${plan.keyType})\n    ${plan.subject}`).join('\n')}

The passwords were printed once, when this folder was made, and are not stored. To start
over with new CAs and new passwords:  npm run admin -- dev-pki --force --yes
Sign in from the command line:        npm run admin -- sign-in --p12 FILE --password PASSWORD
`;
}
