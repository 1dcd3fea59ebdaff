// `admin revoke (--cert FILE | --serial HEX --issuer DN) [--reason R]` and `admin unrevoke`:
// the operators' registry (docs/security-cases.md §H 120-125). Every input is checked before anything
// is written; the registry row (SQL, the truth) is written first, then the certificate's live
// sessions are ended in Redis and every instance is told; instances also learn it from the
// registry epoch within a poll (≤ 250 ms), which is all the embedded default has.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createSessionEnding } from '../sessions/sessions.ts';
import { parseCertificate, parseCertificatesFromPemOrDer } from '../pki/x509/certificate.ts';
import { OperatorInputError } from '../errors.ts';
import { canonicalIssuer, normaliseSerialHex, parseReason } from '../revocation/certificateKey.ts';
import { revocationChannel } from '../revocation/watcher.ts';
import type { Config } from '../config.ts';
import type { CertificateKey, Database, RevocationReason } from '../stores/types.ts';
import { confirm, defineCommand, onRun, stateChanging, type RegisterCommand } from './command.ts';
import { causeOf, openSharedStores, withDatabase } from './environment.ts';

interface TargetOptions {
  cert?: string;
  serial?: string;
  issuer?: string;
}

interface RevokeOptions extends TargetOptions {
  reason: string;
  yes?: boolean;
  operator: string;
}

interface UnrevokeOptions extends TargetOptions {
  yes?: boolean;
  operator: string;
}

/** The certificate an operator named, in the registry's terms. */
export interface Target extends CertificateKey {
  sha256?: string;
  /** For people: the subject when a certificate file was given. */
  subject?: string;
}

function targetOptions(command: Command): Command {
  return command
    .option('--cert <file>', 'the certificate (PEM or DER)')
    .option('--serial <hex>', 'serial number in hex, as `openssl x509 -serial` prints it (with --issuer)')
    .option('--issuer <dn>', 'issuer DN in RFC 4514 form, e.g. "CN=Citizen CA,O=…,C=UZ" (with --serial)');
}

/** Reads and checks --cert or --serial/--issuer; throws one clear line, writes nothing. */
export async function readTarget(options: TargetOptions): Promise<Target> {
  const bySerial = options.serial !== undefined || options.issuer !== undefined;
  if (options.cert !== undefined && bySerial) throw new OperatorInputError('give either --cert or --serial with --issuer, not both');
  if (options.cert !== undefined) return readCertificateFile(options.cert);
  if (options.serial === undefined) throw new OperatorInputError('name the certificate: --cert FILE, or --serial HEX with --issuer DN');
  // A serial is unique only per issuer (RFC 5280 §4.1.2.2): alone it could name many certificates.
  if (options.issuer === undefined) throw new OperatorInputError('--serial needs --issuer: serial numbers are unique only per issuing CA');
  return { issuer: canonicalIssuer(options.issuer), serialHex: normaliseSerialHex(options.serial) };
}

async function readCertificateFile(file: string): Promise<Target> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new OperatorInputError(`cannot read --cert ${file}: ${(error as NodeJS.ErrnoException).code ?? causeOf(error)}`);
  }
  try {
    const ders = parseCertificatesFromPemOrDer(bytes);
    if (ders.length !== 1) throw new OperatorInputError(`--cert ${file} holds ${ders.length} certificates; give a file with exactly one`);
    const cert = parseCertificate(ders[0] as Uint8Array);
    return { issuer: cert.issuer.canonical, serialHex: cert.serialHex, sha256: cert.sha256, subject: cert.subject.text };
  } catch (error) {
    if (error instanceof OperatorInputError) throw error;
    throw new OperatorInputError(`--cert ${file} is not an X.509 certificate in PEM or DER: ${causeOf(error)}`);
  }
}

const describeTarget = (target: Target) =>
  `${target.subject === undefined ? '' : `"${target.subject}" `}serial ${target.serialHex} issued by "${target.issuer}"`;

export interface Propagation {
  /** Sessions ended in Redis by this command; null with the embedded default or when Redis failed. */
  sessionsEnded: number | null;
  /** How instances learn of it: Redis message and the registry epoch, or the epoch alone. */
  via: 'redis+epoch' | 'epoch';
  /** Why the Redis step failed; the registry change stands and instances still poll it. */
  problem?: string;
}

/** After the commit: end the sessions in the shared store and tell every instance. */
export async function propagate(config: Config, target: Target | null, epoch: number): Promise<Propagation> {
  const shared = openSharedStores(config);
  if (shared === undefined) return { sessionsEnded: null, via: 'epoch' };
  try {
    const sessionsEnded = target === null ? null : await createSessionEnding(shared.sessions).endForCertificate(target);
    await shared.notifier.publish(revocationChannel, { epoch });
    return { sessionsEnded, via: 'redis+epoch' };
  } catch (error) {
    return { sessionsEnded: null, via: 'epoch', problem: `Redis at ${shared.url}: ${causeOf(error)}` };
  } finally {
    await shared.close();
  }
}

/** docs/security-cases.md #122: the registry change stands, but the operator must hear that Redis failed. */
function failIfProblem(propagation: Propagation, what: string): void {
  if (propagation.problem === undefined) return;
  throw new Error(`${what} is recorded in the registry, but ending its sessions through ${propagation.problem}; every instance still refuses them within a second of its next registry poll`);
}

export const registerRevoke: RegisterCommand = (program, io) => {
  const command = targetOptions(defineCommand(program, 'revoke', 'revoke a certificate: refused at sign-in, its sessions ended on every instance'))
    .option('--reason <reason>', 'RFC 5280 reason: keyCompromise, cessationOfOperation, affiliationChanged, superseded, certificateHold, …', 'unspecified');
  onRun<RevokeOptions>(stateChanging(command), io, async (options) => {
    const target = await readTarget(options);
    const reason = parseReason(options.reason);
    await confirm(io, options, `Revoke ${describeTarget(target)} (${reason})? Its sessions end at once.`);
    return withDatabase(io, async (db, config) => {
      const added = await db.revocations.add({
        ...key(target), reason, revokedAt: new Date(), source: `admin:${options.operator}`,
        ...(target.sha256 === undefined ? {} : { sha256: target.sha256 }),
      });
      const record = await db.revocations.find(target.issuer, target.serialHex);
      const epoch = await db.revocations.epoch();
      const propagation = await propagate(config, target, epoch);
      await audit(db, 'revocation', options.operator, target, { reason, new: added, recordedReason: record?.reason, epoch, ...propagation });
      failIfProblem(propagation, 'the revocation');
      const json = { revoked: true, new: added, ...key(target), sha256: target.sha256 ?? null, reason: record?.reason ?? reason, revokedAt: record?.revokedAt ?? null, epoch, ...propagation };
      return { json, text: revokeText(target, added, record?.reason ?? reason, propagation) };
    });
  });
};

export const registerUnrevoke: RegisterCommand = (program, io) => {
  const command = targetOptions(defineCommand(program, 'unrevoke', 'lift a certificateHold (sessions it ended stay ended)'));
  onRun<UnrevokeOptions>(stateChanging(command), io, async (options) => {
    const target = await readTarget(options);
    return withDatabase(io, async (db, config) => {
      const record = await db.revocations.find(target.issuer, target.serialHex);
      if (record === undefined) {
        return { json: { unrevoked: false, ...key(target), reason: null }, text: `${describeTarget(target)} is not revoked; nothing changed.` };
      }
      // RFC 5280 §5.3.1: only a hold is temporary; every other reason is final.
      if (record.reason !== 'certificateHold') {
        throw new OperatorInputError(`only a certificateHold can be lifted; ${describeTarget(target)} was revoked for ${record.reason}, which is final`);
      }
      await confirm(io, options, `Lift the hold on ${describeTarget(target)}? It can sign in again; sessions it had stay ended.`);
      const removed = await db.revocations.remove(target.issuer, target.serialHex);
      const epoch = await db.revocations.epoch();
      const propagation = await propagate(config, null, epoch);
      await audit(db, 'unrevocation', options.operator, target, { reason: record.reason, removed, epoch, ...propagation });
      failIfProblem(propagation, 'lifting the hold');
      return { json: { unrevoked: removed, ...key(target), reason: record.reason, epoch, via: propagation.via }, text: `Hold lifted: ${describeTarget(target)} may sign in again.` };
    });
  });
};

const key = (target: Target): CertificateKey => ({ issuer: target.issuer, serialHex: target.serialHex });

async function audit(db: Database, type: string, operator: string, target: Target, details: Record<string, unknown>): Promise<void> {
  await db.audit.append({
    at: new Date(), type, outcome: 'success', actor: operator,
    ...(target.sha256 === undefined ? {} : { certificateSha256: target.sha256 }),
    details: { ...key(target), ...details },
  });
}

function revokeText(target: Target, added: boolean, reason: RevocationReason, propagation: Propagation): string {
  const head = added ? `Revoked ${describeTarget(target)} (${reason}).` : `Already revoked (${reason}): ${describeTarget(target)}; nothing changed.`;
  const sessions = propagation.sessionsEnded === null
    ? 'Its sessions are ended by each running instance at its next registry poll (within a second).'
    : `Sessions ended now: ${propagation.sessionsEnded}; every instance was told and refuses the rest.`;
  return `${head}\n${sessions}`;
}
