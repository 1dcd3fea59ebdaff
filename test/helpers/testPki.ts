// A national-style PKI made at test time with the project's own issuance module:
// root CA → citizen CA → citizens, plus helpers to sign challenges as a citizen would.
import type { KeyObject } from 'node:crypto';
import { signCms, type SignCmsOptions } from '../../src/pki/issue/cmsSign.ts';
import { createKeyPair, issueCertificate, type IssueOptions, type KeyKind } from '../../src/pki/issue/issue.ts';

export interface Authority {
  certDer: Uint8Array;
  privateKey: KeyObject;
}

export interface Citizen {
  certDer: Uint8Array;
  privateKey: KeyObject;
  serialHex: string;
  /** Intermediates to present with the leaf (the citizen CA). */
  chain: Uint8Array[];
}

export interface TestPki {
  root: Authority;
  ca: Authority;
  anchors: Uint8Array[];
  intermediates: Uint8Array[];
  citizen(options?: CitizenOptions): Promise<Citizen>;
}

export interface CitizenOptions extends Partial<Omit<IssueOptions, 'issuer' | 'publicKey'>> {
  key?: KeyKind;
  /** Issue under another authority than the citizen CA. */
  issuer?: Authority;
}

const day = 86_400_000;

export async function createTestPki(now = new Date()): Promise<TestPki> {
  const root = await selfSignedCa('CN=Test Root CA,O=Yagona Test,C=UZ', 'ec-p384', now);
  const ca = await subordinateCa('CN=Test Citizen CA,O=Yagona Test,C=UZ', root, now);
  let counter = 0;
  return {
    root,
    ca,
    anchors: [root.certDer],
    intermediates: [ca.certDer],
    async citizen(options = {}) {
      counter += 1;
      const { key = 'ec-p256', issuer = ca, ...rest } = options;
      const pair = await createKeyPair(key);
      const issued = await issueCertificate({
        subject: `CN=Citizen ${counter},SN=Karimov,GN=Aziz,1.2.860.3.16.1.2=3120199${String(counter).padStart(7, '0')},C=UZ`,
        notBefore: new Date(now.getTime() - day),
        notAfter: new Date(now.getTime() + 365 * day),
        keyUsage: ['digitalSignature', 'nonRepudiation'],
        extKeyUsage: ['clientAuth', 'emailProtection'],
        ...rest,
        issuer: { certDer: issuer.certDer, privateKey: issuer.privateKey },
        publicKey: pair.publicKey,
      });
      return { certDer: issued.der, privateKey: pair.privateKey, serialHex: issued.serialHex, chain: issuer === ca ? [ca.certDer] : [] };
    },
  };
}

export async function selfSignedCa(subject: string, key: KeyKind, now: Date, extra: Partial<IssueOptions> = {}): Promise<Authority> {
  const pair = await createKeyPair(key);
  const issued = await issueCertificate({
    subject, publicKey: pair.publicKey, privateKey: pair.privateKey, ca: true,
    notBefore: new Date(now.getTime() - 10 * day), notAfter: new Date(now.getTime() + 3650 * day), ...extra,
  });
  return { certDer: issued.der, privateKey: pair.privateKey };
}

export async function subordinateCa(subject: string, issuer: Authority, now: Date, extra: Partial<IssueOptions> = {}): Promise<Authority> {
  const pair = await createKeyPair('ec-p256');
  const issued = await issueCertificate({
    subject, publicKey: pair.publicKey, issuer, ca: true, pathLen: 0,
    notBefore: new Date(now.getTime() - 10 * day), notAfter: new Date(now.getTime() + 1825 * day), ...extra,
  });
  return { certDer: issued.der, privateKey: pair.privateKey };
}

/** The CMS body a citizen's software would post for a challenge. */
export function cmsBody(citizen: Omit<Citizen, 'privateKey'> & { privateKey: SignCmsOptions['privateKey'] }, challengeId: string, challenge: string, options: Partial<SignCmsOptions> = {}) {
  const cms = signCms({
    content: new TextEncoder().encode(challenge),
    signerCertDer: citizen.certDer,
    extraCertDers: citizen.chain,
    privateKey: citizen.privateKey,
    ...options,
  });
  return { challengeId, format: 'cms', cms: Buffer.from(cms).toString('base64') };
}
