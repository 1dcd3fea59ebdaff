// `admin import-crl FILE [--ca FILE]`: records every entry of a CRL (PEM or DER) in the local
// registry (PostgreSQL: in one transaction; SQLite: a few hundred entries per transaction, so the
// service's writes are not held behind it), with a progress bar on a terminal. When a configured CA
// certificate (TRUST_ANCHORS_DIR, INTERMEDIATES_DIR or --ca) names the CRL's issuer, the
// CRL's signature must verify under it (RFC 5280 §6.3.3 (f)): an altered CRL is refused, not
// half-believed (docs/security-cases.md #66). Entries only add revocations, so an unverified CRL can
// at worst refuse certificates; the output says which case it was.
import { readFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { loadTrustMaterial } from '../login/trustFiles.ts';
import { parseCertificate, parseCertificatesFromPemOrDer } from '../pki/x509/certificate.ts';
import { parseCrl, parseCrlsFromPemOrDer, type ParsedCrl } from '../pki/x509/crl.ts';
import type { ParsedCertificate } from '../pki/x509/model.ts';
import type { SignatureAlgorithms } from '../pki/algorithms/registry.ts';
import { OperatorInputError } from '../errors.ts';
import { reasonFromCode } from '../revocation/certificateKey.ts';
import type { Config } from '../config.ts';
import type { RevocationRecord } from '../stores/types.ts';
import { confirm, defineCommand, onRun, stateChanging, type AdminIo, type RegisterCommand } from './command.ts';
import { causeOf, withDatabase } from './environment.ts';
import { propagate } from './revoke.ts';

interface Options {
  ca?: string;
  yes?: boolean;
  operator: string;
  json?: boolean;
}

type SignatureCheck =
  | { status: 'verified'; ca: string }
  | { status: 'unverified'; why: string };

export const registerImportCrl: RegisterCommand = (program, io) => {
  const command = defineCommand(program, 'import-crl', 'record every entry of a CRL (PEM or DER) in the local revocation registry')
    .argument('<file>', 'the CRL')
    .option('--ca <file>', 'the issuing CA certificate to verify the CRL with (default: the configured trust folders)');
  onRun<Options>(stateChanging(command), io, async (options, self) => {
    const file = self.args[0] as string;
    const crl = await readCrl(file);
    const caCertificates = options.ca === undefined ? [] : await readCaFile(options.ca);
    return withDatabase(io, async (db, config) => {
      // Loaded here, not with the CLI: every other command starts without the signature families.
      const { loadSignatureAlgorithms } = await import('../login/algorithms.ts');
      const signature = checkCrlSignature(crl, [...caCertificates, ...(await configuredCas(config))], await loadSignatureAlgorithms(config));
      const { records, skipped } = recordsOf(crl);
      await confirm(io, options, `Record ${records.length} revocations from the CRL of "${crl.issuer.text}" (${signature.status})?`);
      const bar = progressBar(io, options, records.length);
      const started = performance.now();
      let added: number;
      try {
        added = await db.revocations.addMany(records, { onProgress: (done) => bar?.update(done) });
      } finally {
        bar?.stop();
      }
      const seconds = (performance.now() - started) / 1000;
      const epoch = await db.revocations.epoch();
      const propagation = await propagate(config, null, epoch);
      const summary = {
        file, crlSha256: crl.sha256, issuer: crl.issuer.canonical, thisUpdate: crl.thisUpdate.toISOString(),
        entries: records.length, added, alreadyKnown: records.length - added, skipped, signature, warnings: warningsOf(crl), epoch,
        seconds: Number(seconds.toFixed(3)), entriesPerSecond: Math.round(records.length / Math.max(seconds, 1e-6)), via: propagation.via,
      };
      await db.audit.append({ at: new Date(), type: 'crl_import', outcome: 'success', actor: options.operator, details: { ...summary, propagationProblem: propagation.problem } });
      if (propagation.problem !== undefined) {
        throw new Error(`the CRL is recorded (${added} new), but telling the instances through ${propagation.problem}; they still pick it up from the registry within a second`);
      }
      return { json: summary, text: describe(summary) };
    });
  });
};

async function readCrl(file: string): Promise<ParsedCrl> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new OperatorInputError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? causeOf(error)}`);
  }
  try {
    const ders = parseCrlsFromPemOrDer(bytes);
    if (ders.length !== 1) throw new OperatorInputError(`${file} holds ${ders.length} CRLs; import them one file at a time`);
    return parseCrl(ders[0] as Uint8Array);
  } catch (error) {
    if (error instanceof OperatorInputError) throw error;
    throw new OperatorInputError(`${file} is not a CRL in PEM or DER: ${causeOf(error)}`);
  }
}

async function readCaFile(file: string): Promise<ParsedCertificate[]> {
  try {
    return parseCertificatesFromPemOrDer(await readFile(file)).map(parseCertificate);
  } catch (error) {
    throw new OperatorInputError(`--ca ${file} is not a readable PEM or DER certificate: ${(error as NodeJS.ErrnoException).code ?? causeOf(error)}`);
  }
}

async function configuredCas(config: Config): Promise<ParsedCertificate[]> {
  try {
    const trust = await loadTrustMaterial(config.trustAnchorsDir, config.intermediatesDir);
    return [...trust.anchors, ...trust.intermediates].map(parseCertificate);
  } catch {
    // No trust folder on this machine (an operator's workstation): --ca, or unverified.
    return [];
  }
}

function checkCrlSignature(crl: ParsedCrl, cas: readonly ParsedCertificate[], algorithms: SignatureAlgorithms): SignatureCheck {
  const named = cas.filter((ca) => ca.subject.canonical === crl.issuer.canonical);
  if (named.length === 0) return { status: 'unverified', why: `no configured CA certificate is named "${crl.issuer.text}"` };
  // A CA may hold more than one key over time (rollover): any of them may have signed.
  const signer = named.find((ca) => {
    try {
      return algorithms.check(crl.signatureAlgorithm, ca.spki, crl.tbs, crl.signature);
    } catch {
      return false;
    }
  });
  if (signer === undefined) {
    throw new OperatorInputError(`the CRL's signature does not verify under the configured CA "${crl.issuer.text}": refusing an altered or foreign CRL`);
  }
  return { status: 'verified', ca: signer.subject.text };
}

/**
 * What an operator should know although the import goes ahead: entries only ever add
 * refusals, so a CRL a relying party could not use as proof of "not revoked" (RFC 5280 §6.3.3)
 * still names certificates that must not sign in.
 */
function warningsOf(crl: ParsedCrl): string[] {
  const warnings: string[] = [];
  if (crl.unknownCriticalExtension !== undefined) warnings.push(`unknown critical extension ${crl.unknownCriticalExtension} (§5.2)`);
  if (crl.unusableEntry !== undefined) warnings.push(crl.unusableEntry);
  if (crl.isDelta) warnings.push('a delta CRL: its entries are added; entries it removes (removeFromCRL) are not lifted here');
  if (crl.nextUpdate !== undefined && crl.nextUpdate.getTime() < Date.now()) warnings.push(`stale: nextUpdate ${crl.nextUpdate.toISOString()} has passed`);
  return warnings;
}

/** One registry record per entry; removeFromCRL entries (delta CRLs, §5.3.1) remove nothing here and are skipped. */
function recordsOf(crl: ParsedCrl): { records: RevocationRecord[]; skipped: number } {
  const source = `crl:${crl.sha256.slice(0, 16)}`;
  const records: RevocationRecord[] = [];
  let skipped = 0;
  for (const entry of crl.entries.values()) {
    const reason = reasonFromCode(entry.reason);
    if (reason === undefined || reason === 'removeFromCRL') {
      skipped++;
      continue;
    }
    records.push({ issuer: entry.certificateIssuer.canonical, serialHex: entry.serialHex, reason, revokedAt: entry.revocationDate, source });
  }
  return { records, skipped };
}

function progressBar(io: AdminIo, options: Options, total: number): cliProgress.SingleBar | undefined {
  // Only for a person watching: never inside --json output or a log file.
  if (!io.interactive || options.json === true || total === 0) return undefined;
  const bar = new cliProgress.SingleBar({ format: 'import-crl [{bar}] {percentage}% {value}/{total} entries, {eta}s left', stream: process.stderr }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}

function describe(summary: { file: string; entries: number; added: number; alreadyKnown: number; skipped: number; signature: SignatureCheck; warnings: string[]; seconds: number; entriesPerSecond: number; issuer: string }): string {
  const signature = summary.signature.status === 'verified'
    ? `signature verified with the CA "${summary.signature.ca}"`
    : `signature NOT verified: ${summary.signature.why} (pass --ca FILE to verify)`;
  return [
    `Imported ${summary.file}: ${summary.entries} entries from "${summary.issuer}", ${summary.added} new, ${summary.alreadyKnown} already recorded${summary.skipped > 0 ? `, ${summary.skipped} removeFromCRL/unknown-reason entries skipped` : ''}.`,
    `CRL ${signature}.`,
    ...summary.warnings.map((warning) => `Warning: ${warning}.`),
    `${summary.seconds} s, ${summary.entriesPerSecond} entries/s. Running instances pick the new revocations up within a second.`,
  ].join('\n');
}
