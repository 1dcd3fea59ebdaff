// The two public suites (test/data/conformance/README.md) as plain case records, and how one
// case runs through the service's own validate(). Shared by the runner and its workers.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isServiceError } from '../../src/errors.ts';
import { parseCertificate, parseCertificatesFromPemOrDer } from '../../src/pki/x509/certificate.ts';
import { parseCrlsFromPemOrDer } from '../../src/pki/x509/crl.ts';
import { ekuByName, OID } from '../../src/pki/asn1/oids.ts';
import { validate, type PolicyInputs } from '../../src/pki/path/validate.ts';
import type { KeyUsageName } from '../../src/pki/x509/model.ts';

/** One suite's outcome, as the runner prints it with --json (and the regression test reads it). */
export interface SuiteSummary {
  suite: string;
  agree: number;
  falseAccepts: number;
  falseRejects: number;
  declaredRejects: number;
  hangs: number;
  disagreements: Array<{ id: string; expected: 'accept' | 'reject'; got: string; declared?: string }>;
}

// Vendored with their licence notices, so a clone of the repository runs them as it is.
export const conformanceDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/data/conformance');

export interface Case {
  suite: 'pkits' | 'limbo';
  id: string;
  expectAccept: boolean;
  /** Why a case is expected to disagree (a feature declared unsupported or a documented policy choice). */
  declared?: string;
  input: PkitsInput | LimboInput;
}

interface PkitsInput {
  kind: 'pkits';
  anchor: string;
  intermediates: string[];
  leaf: string;
  crls: string[];
  policy: PolicyInputs;
}

interface LimboInput {
  kind: 'limbo';
  trusted: string[];
  intermediates: string[];
  peer: string;
  crls: string[];
  at: string | null;
  eku: string[];
  keyUsage: string[];
  maxDepth: number | null;
}

export interface Outcome {
  accepted: boolean;
  code?: string;
  detail?: string;
}

// Declared unsupported (conformance/README.md allows these, they must then be rejected).
const pkitsDeclared: Readonly<Record<string, string>> = {
  '4.1.4': 'DSA signatures are not supported (docs/path-validation.md algorithm list)',
  '4.1.5': 'DSA signatures are not supported (docs/path-validation.md algorithm list)',
  '4.6.8': 'policy: a CA certificate is not accepted as the leaf',
  '4.6.14': 'policy: a CA certificate is not accepted as the leaf',
  '4.8.6': 'policy: a CA certificate is not accepted as the leaf',
  '4.14.13': 'policy: a CA certificate is not accepted as the leaf',
};

const nistPolicy = (name: string): string => {
  if (name === 'anyPolicy') return OID.anyPolicy;
  const match = /^NIST-test-policy-(\d+)$/.exec(name);
  if (match === null) throw new TypeError(`unknown PKITS policy name ${name}`);
  return `2.16.840.1.101.3.2.1.48.${match[1]}`;
};

export function loadPkits(): Case[] {
  const manifest = JSON.parse(readFileSync(join(conformanceDir, 'pkits/pkits-manifest.json'), 'utf8')) as { tests: Array<Record<string, unknown>> };
  return manifest.tests.map((t) => {
    const number = String(t.test_number);
    const title = String(t.title);
    const policy: PolicyInputs = {};
    if (Array.isArray(t.initial_policy_set)) policy.initialPolicySet = (t.initial_policy_set as string[]).map(nistPolicy);
    if (t.initial_explicit_policy === true) policy.explicitPolicy = true;
    if (t.initial_policy_mapping_inhibit === true) policy.policyMappingInhibit = true;
    if (t.initial_inhibit_any_policy === true) policy.anyPolicyInhibit = true;
    const declared = pkitsDeclared[number];
    return {
      suite: 'pkits' as const,
      id: `${number} ${title}`,
      expectAccept: t.should_validate === true,
      ...(declared === undefined ? {} : { declared }),
      input: {
        kind: 'pkits' as const,
        anchor: String(t.trust_anchor),
        intermediates: t.intermediates as string[],
        leaf: String(t.end_entity),
        crls: t.crls as string[],
        policy,
      },
    };
  });
}

// Policy choices for the `policy-choice` cases (client-subset.json), documented in path.ts:
// a CA certificate is never accepted as the leaf; a leaf without EKU is accepted (docs/path-validation.md:
// "if it has an extendedKeyUsage"); non-critical name constraints are still enforced.
const limboChoices: Readonly<Record<string, string>> = {
  'rfc5280::ca-as-leaf': 'policy: a CA certificate is not accepted as the leaf',
  'pathlen::validation-ignores-pathlen-in-leaf': 'policy: a CA certificate is not accepted as the leaf',
  'webpki::eku::ee-without-eku': 'policy: a leaf without extendedKeyUsage is accepted (docs/path-validation.md)',
  'rfc5280::nc::permitted-dns-match-noncritical': 'policy: name constraints are enforced whether critical or not',
};

const limboCategories = new Set(['core', 'core-if-max-depth-param', 'policy-choice']);

export function loadLimbo(): Case[] {
  const limbo = JSON.parse(readFileSync(join(conformanceDir, 'limbo/limbo.json'), 'utf8')) as { testcases: Array<Record<string, unknown>> };
  const subset = JSON.parse(readFileSync(join(conformanceDir, 'limbo/client-subset.json'), 'utf8')) as { cases: Array<Record<string, unknown>> };
  const byId = new Map(limbo.testcases.map((tc) => [String(tc.id), tc]));
  return subset.cases
    .filter((c) => limboCategories.has(String(c.category)))
    .map((c) => {
      const id = String(c.id);
      const tc = byId.get(id);
      if (tc === undefined) throw new TypeError(`limbo case ${id} missing from limbo.json`);
      const declared = limboChoices[id];
      return {
        suite: 'limbo' as const,
        id,
        expectAccept: (declared === undefined) === (c.expected_result === 'SUCCESS'),
        ...(declared === undefined ? {} : { declared }),
        input: {
          kind: 'limbo' as const,
          trusted: tc.trusted_certs as string[],
          intermediates: tc.untrusted_intermediates as string[],
          peer: String(tc.peer_certificate),
          crls: tc.crls as string[],
          at: (c.validation_time as string | null) ?? null,
          eku: c.harness_eku as string[],
          keyUsage: tc.key_usage as string[],
          maxDepth: (tc.max_chain_depth as number | null) ?? null,
        },
      };
    });
}

/** Runs one case through validate(); any exception is a rejection. */
export function runCase(c: Case): Outcome {
  try {
    if (c.input.kind === 'pkits') runPkits(c.input);
    else runLimbo(c.input);
    return { accepted: true };
  } catch (err) {
    if (isServiceError(err)) return { accepted: false, code: err.code, detail: err.message };
    return { accepted: false, code: 'exception', detail: String(err) };
  }
}

function runPkits(input: PkitsInput): void {
  const cert = (name: string) => parseCertificate(readFileSync(join(conformanceDir, 'pkits/certs', `${name}.crt`)));
  validate({
    leaf: cert(input.leaf),
    intermediates: input.intermediates.map(cert),
    anchors: [cert(input.anchor)],
    at: new Date('2011-04-15T00:00:00Z'),
    requiredEku: 'any',
    requiredKeyUsage: 'any',
    crls: input.crls.map((name) => new Uint8Array(readFileSync(join(conformanceDir, 'pkits/crls', `${name}.crl`)))),
    policy: input.policy,
    // The one profile rule PKITS 2011 data breaks (see profile.ts); limbo runs fully strict.
    profile: { allowNonCriticalPolicyConstraints: true },
  });
}

function pemCerts(pems: string[]) {
  return pems.flatMap((pem) => parseCertificatesFromPemOrDer(Buffer.from(pem))).map(parseCertificate);
}

function runLimbo(input: LimboInput): void {
  const [leaf] = pemCerts([input.peer]);
  validate({
    leaf: leaf!,
    intermediates: pemCerts(input.intermediates),
    anchors: pemCerts(input.trusted),
    at: input.at === null ? new Date() : new Date(input.at),
    requiredEku: input.eku.map((name) => {
      const oid = ekuByName[name];
      if (oid === undefined) throw new TypeError(`unknown EKU ${name}`);
      return oid;
    }),
    requiredKeyUsage: input.keyUsage.length === 0 ? 'any' : (input.keyUsage as KeyUsageName[]),
    crls: input.crls.flatMap((pem) => parseCrlsFromPemOrDer(Buffer.from(pem))),
    ...(input.maxDepth === null ? {} : { maxDepth: input.maxDepth }),
  });
}
