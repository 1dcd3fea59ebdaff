// How the registry names a certificate: the canonical issuer DN and the serial number as the
// hex of its DER INTEGER contents (ParsedCertificate.serialHex), whatever form an operator
// typed. Also the RFC 5280 §5.3.1 reason names and codes.
import { OperatorInputError } from '../errors.ts';
import { canonicalDn } from '../pki/x509/name.ts';
import type { CertificateKey, RevocationReason } from '../stores/types.ts';

// RFC 5280 §4.1.2.2 caps conforming serials at 20 octets; real CAs have issued longer
// ones, so allow what the registry's column holds (64 octets) and no more.
const maxSerialOctets = 64;

/**
 * `--serial` is hexadecimal as `openssl x509 -serial` prints it (`serial=` prefix, upper or
 * lower case, byte pairs optionally separated by colons as `openssl x509 -text` shows them).
 * Leading zeros do not change the number. A minus sign, or a decimal form such as
 * `1234 (0x4d2)`, is refused rather than guessed: the wrong certificate must never be revoked.
 */
export function normaliseSerialHex(input: string): string {
  let text = input.trim().replace(/^serial=/i, '');
  if (text.startsWith('-')) throw new OperatorInputError(`--serial "${input}": negative serial numbers do not exist (RFC 5280 §4.1.2.2); give the hex openssl prints`);
  if (/^0x/i.test(text)) text = text.slice(2);
  if (/^[0-9a-f]{2}(:[0-9a-f]{2})+$/i.test(text)) text = text.replaceAll(':', '');
  if (!/^[0-9a-f]+$/i.test(text)) {
    const hint = /^\d+\s*\(0x[0-9a-f]+\)$/i.test(text) ? ' (that is openssl -text\'s decimal form; use the hex in brackets)' : '';
    throw new OperatorInputError(`--serial "${input}" is not hexadecimal${hint}`);
  }
  let magnitude = text.replace(/^0+/, '').toUpperCase();
  if (magnitude === '') throw new OperatorInputError(`--serial "${input}": serial numbers are positive (RFC 5280 §4.1.2.2)`);
  if (magnitude.length % 2 === 1) magnitude = `0${magnitude}`;
  // DER INTEGER contents: a leading 00 keeps a number whose top bit is set positive (X.690 §8.3).
  const der = Number.parseInt(magnitude.slice(0, 1), 16) >= 8 ? `00${magnitude}` : magnitude;
  if (der.length / 2 > maxSerialOctets) throw new OperatorInputError(`--serial "${input}" is longer than ${maxSerialOctets} octets`);
  return der;
}

/** `--issuer` in RFC 4514 form, in the registry's canonical form. */
export function canonicalIssuer(input: string): string {
  let canonical: string;
  try {
    canonical = canonicalDn(input);
  } catch (error) {
    throw new OperatorInputError(`--issuer "${input}": ${error instanceof Error ? error.message : String(error)}`);
  }
  if (canonical === '') throw new OperatorInputError('--issuer is empty: give the issuing CA\'s DN, e.g. "CN=Citizen CA,O=…,C=UZ"');
  return canonical;
}

export function certificateKey(issuer: string, serialHex: string): CertificateKey {
  return { issuer: canonicalIssuer(issuer), serialHex: normaliseSerialHex(serialHex) };
}

/** CRLReason names and codes, RFC 5280 §5.3.1 (7 is not used). */
export const reasonCodes: Readonly<Record<RevocationReason, number>> = Object.freeze({
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
});

const reasonOfCode = new Map(Object.entries(reasonCodes).map(([name, code]) => [code, name as RevocationReason]));

/** `--reason`: one of the RFC 5280 names. removeFromCRL is for delta CRLs, not a revocation. */
export function parseReason(input: string): RevocationReason {
  const name = Object.keys(reasonCodes).find((reason) => reason === input) as RevocationReason | undefined;
  if (name === undefined || name === 'removeFromCRL') {
    const names = Object.keys(reasonCodes).filter((reason) => reason !== 'removeFromCRL').join(', ');
    throw new OperatorInputError(`--reason "${input}" is not an RFC 5280 reason (one of: ${names})`);
  }
  return name;
}

/** A CRL entry's reasonCode as a name; absent means unspecified (RFC 5280 §5.3.1). */
export function reasonFromCode(code: number | undefined): RevocationReason | undefined {
  return code === undefined ? 'unspecified' : reasonOfCode.get(code);
}

export const keyText = (key: CertificateKey) => `${key.issuer}\n${key.serialHex}`;
