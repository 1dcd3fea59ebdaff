// Trust anchors and known intermediates from their folders (PEM or DER files). Read once at
// start: trust never changes from request input (docs/security-cases.md #53).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCertificate, parseCertificatesFromPemOrDer } from '../pki/x509/certificate.ts';
import type { TrustMaterial } from './verifier.ts';

const certificateFile = /\.(pem|crt|cer|der)$/i;

export async function loadTrustMaterial(anchorsDir: string, intermediatesDir: string): Promise<TrustMaterial & { anchorSummaries: Array<{ subject: string; sha256: string }> }> {
  const anchors = await readCertificates(anchorsDir, { required: true });
  if (anchors.length === 0) throw new Error(`no trust anchor certificates in ${anchorsDir}`);
  const intermediates = await readCertificates(intermediatesDir, { required: false });
  const anchorSummaries = anchors.map((der) => {
    const cert = parseCertificate(der);
    return { subject: cert.subject.text, sha256: cert.sha256 };
  });
  return { anchors, intermediates, anchorSummaries };
}

async function readCertificates(dir: string, { required }: { required: boolean }): Promise<Uint8Array[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read certificate folder ${dir}: ${(error as Error).message}`);
  }
  const files = names.filter((name) => certificateFile.test(name)).sort();
  const perFile = await Promise.all(files.map(async (name) => {
    try {
      return parseCertificatesFromPemOrDer(await readFile(join(dir, name)));
    } catch (error) {
      throw new Error(`${join(dir, name)} is not a PEM or DER certificate: ${(error as Error).message}`);
    }
  }));
  return perFile.flat();
}
