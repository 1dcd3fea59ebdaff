// `admin trust check FILE [--at TIME] [--content FILE] [--json]` (docs/api.md "Operator command
// line"): whether the service, configured by this environment, would accept a certificate or a
// CMS at a time, step by step (src/login/trustCheck.ts): exit 0 when it would, 1 when not, the
// explanation on stdout either way and the first refusal as the one stderr line.
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { fixedClock } from '../clock.ts';
import { loadConfig, withTrustPolicy, type Config } from '../config.ts';
import { OperatorInputError, ServiceError } from '../errors.ts';
import { loadSignatureAlgorithms } from '../login/algorithms.ts';
import type { SignatureAlgorithms } from '../pki/algorithms/registry.ts';
import { checkTrust, type TrustCheckDeps, type TrustCheckVerdict } from '../login/trustCheck.ts';
import { loadTrustMaterial } from '../login/trustFiles.ts';
import { createTrustPolicyChecker } from '../login/trustPolicy.ts';
import { createCertificateVerifier } from '../login/verifier.ts';
import { parseCertificate } from '../pki/x509/certificate.ts';
import { createLocalRevocationChecker } from '../revocation/local.ts';
import { createConfiguredRevocationChecker } from '../revocation/sources.ts';
import { createMemoryStore } from '../stores/memory.ts';
import { openDatabase } from '../stores/sql/database.ts';
import type { Database, EphemeralStore } from '../stores/types.ts';
import { defineCommand, type RegisterCommand } from './command.ts';
import { causeOf, displayUrl } from './environment.ts';

interface Options {
  at?: Date;
  content?: string;
  json?: boolean;
}

export const registerTrust: RegisterCommand = (program, io) => {
  const trust = program.command('trust').description('the trust configuration as the service applies it');
  const check = defineCommand(trust, 'check', 'explain step by step whether a certificate or a CMS (PEM, DER or base64) would be accepted; exit 0 if so, 1 if not')
    .argument('<file>', 'a certificate (with its intermediates after it) or a CMS SignedData')
    .addOption(new Option('--at <time>', 'judge validity and revocation at this time (ISO 8601; default now)').argParser(parseTime))
    .option('--content <file>', "a detached CMS's signed content (the challenge), to check its signature");
  check.action(async (file: string, options: Options) => {
    const bytes = await readInput(file);
    const content = options.content === undefined ? undefined : await readInput(options.content);
    const config = withTrustPolicy(loadConfig(io.env));
    const at = options.at ?? new Date();
    const database = await openRevocationRegistry(config);
    // CRLs and OCSP answers fetched for this one check, as the service's shared store would keep them.
    const store = createMemoryStore();
    try {
      const verdict = await checkTrust(await trustCheckDeps(config, at, database, store), { bytes, at, ...(content === undefined ? {} : { content }) });
      io.out(options.json ? `${JSON.stringify(verdict, null, 2)}\n` : `${describe(file, verdict)}\n`);
      if (!verdict.accepted) throw refusal(verdict);
    } finally {
      await store.close();
      if (!('unavailable' in database)) await database.close();
    }
  });
};

function parseTime(value: string): Date {
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) throw new InvalidArgumentError('not an ISO 8601 time such as 2020-06-01 or 2020-06-01T12:00:00Z');
  return at;
}

async function readInput(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (error) {
    throw new OperatorInputError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? causeOf(error)}`);
  }
}

/** The revocation registry, or why it cannot be asked: the other steps need no database. */
async function openRevocationRegistry(config: Config): Promise<Database | { unavailable: string }> {
  try {
    // knex's own log lines would add a stack to the explanation.
    return await openDatabase(config.databaseUrl, { log: () => undefined });
  } catch (error) {
    return { unavailable: `the revocation registry's database ${displayUrl(config.databaseUrl)} is unavailable: ${causeOf(error)}` };
  }
}

/** The service's own parts, built as compose.ts builds them, with a clock stopped at `at`. */
async function trustCheckDeps(config: Config, at: Date, database: Database | { unavailable: string }, store: EphemeralStore): Promise<TrustCheckDeps> {
  const algorithms = await loadSignatureAlgorithms(config);
  const trust = await loadTrustMaterial(config.trustAnchorsDir, config.intermediatesDir);
  const trustPolicy = createTrustPolicyChecker(config.trustPolicy);
  return {
    algorithms,
    verifier: createCertificateVerifier(trust, { algorithms, pinned: trustPolicy.pinned }),
    trustPolicy,
    revocation: 'unavailable' in database ? database : revocationOf(config, database, store, trust.anchors, at, algorithms),
    cas: [...trust.anchors, ...trust.intermediates].map(parseCertificate),
  };
}

/** The service's revocation checker; what it would log as a warning (a status left unknown under fail-open) is kept for the step. */
function revocationOf(config: Config, database: Database, store: EphemeralStore, anchors: Uint8Array[], at: Date, algorithms: SignatureAlgorithms): TrustCheckDeps['revocation'] {
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(describeWarning(line)) });
  return {
    checker: createConfiguredRevocationChecker({ config, local: createLocalRevocationChecker(database.revocations), store, anchors, log, clock: fixedClock(at), algorithms }),
    sources: ['the local registry', ...config.revocationChecks.filter((name) => name !== 'local')],
    warnings: () => warnings,
  };
}

/** A pino line as words: its message and what it names (`revocation: [...]`). */
function describeWarning(line: string): string {
  const { msg, revocation } = JSON.parse(line) as { msg?: string; revocation?: unknown };
  return Array.isArray(revocation) ? revocation.join('; ') : msg ?? line;
}

function describe(file: string, verdict: TrustCheckVerdict): string {
  const mark = { passed: 'ok  ', failed: 'FAIL', 'not checked': '--  ' } as const;
  return [
    `${file}: ${verdict.accepted ? 'ACCEPTED' : 'REFUSED'} at ${verdict.at}`,
    ...verdict.steps.map((step) => `  ${mark[step.status]} ${step.step.padEnd(10)} ${step.code === undefined ? '' : `${step.code}: `}${step.found}`),
  ].join('\n');
}

/** The one stderr line: the first failed step's code and detail, else the first step left unchecked. */
function refusal(verdict: TrustCheckVerdict): Error {
  const failed = verdict.steps.find((step) => step.status === 'failed');
  if (failed?.code !== undefined) return new ServiceError(failed.code, `refused at the ${failed.step} step: ${failed.found}`);
  const unchecked = verdict.steps.find((step) => step.status !== 'passed')!;
  return new Error(`not accepted: the ${unchecked.step} step could not be checked: ${unchecked.found}`);
}
