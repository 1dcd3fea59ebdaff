// `admin trust check FILE [--at TIME] [--content FILE] [--json]` run as an operator runs it (in
// process, with the service's environment): the real national chain at a past time (the E-IMZO
// CA certificate of the vectors expired in 2022) and now, the national root's own signature, and
// a chain, certificates and CMS made by OpenSSL's gost engine, accepted and refused at each step
// with the code the sign-in gives; exit 0 only when every step passed.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TrustCheckVerdict } from '../../src/login/trustCheck.ts';
import { signCms } from '../../src/pki/issue/cmsSign.ts';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import { runAdmin } from '../helpers/admin.ts';
import { engineChain, gostCases, type GostChain } from '../helpers/gostPki.ts';
import { pem } from '../helpers/pem.ts';
import { freePort } from '../helpers/ports.ts';
import { openGostEngine, readVector } from '../pki/algorithms/gost/gostEngine.ts';

const engine = openGostEngine();
const challenge = new TextEncoder().encode('Yagona ID sign-in\nservice: http://127.0.0.1:8080\nnonce: trust-check');
let dir: string;
let chain: GostChain;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'yagona-trust-check-'));
  chain = await engineChain(engine, gostCases.find((c) => c.label.endsWith('parameter set A'))!, '31201990000017');
});
after(async () => {
  engine.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** A deployment: its anchors, its trust policy, its own SQLite registry. */
async function deployment(name: string, anchors: Uint8Array[], policy: string): Promise<Record<string, string>> {
  const home = join(dir, name);
  await mkdir(join(home, 'trust'), { recursive: true });
  await Promise.all(anchors.map((der, i) => writeFile(join(home, 'trust', `anchor-${i}.pem`), pem(der))));
  await writeFile(join(home, 'policy.yaml'), policy);
  return {
    TRUST_ANCHORS_DIR: join(home, 'trust'), INTERMEDIATES_DIR: join(home, 'intermediates'),
    TRUST_POLICY_FILE: join(home, 'policy.yaml'), DATABASE_URL: `sqlite:${join(home, 'yagona.sqlite')}`,
  };
}

async function file(name: string, contents: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, contents);
  return path;
}

/** `trust check --json`: exit status and the verdict, one JSON document on stdout. */
async function check(env: Record<string, string>, args: string[]): Promise<{ code: number; verdict: TrustCheckVerdict; stderr: string }> {
  const run = await runAdmin(['trust', 'check', ...args, '--json'], env);
  return { code: run.code, verdict: JSON.parse(run.stdout) as TrustCheckVerdict, stderr: run.stderr };
}

/** Each step's status, and the code of the failed ones. */
const outline = (verdict: TrustCheckVerdict) => Object.fromEntries(verdict.steps.map((s) => [s.step, s.code === undefined ? s.status : `${s.status} ${s.code}`]));
const found = (verdict: TrustCheckVerdict, step: string) => verdict.steps.find((s) => s.step === step)!.found;

describe('the real national chain', () => {
  const root = readVector('national-root.der');
  const eimzoCa = readVector('eimzo-ca-2018.der');
  let env: Record<string, string>;
  before(async () => {
    // The E-IMZO CA has no authorityKeyIdentifier: only a trust-policy entry lets a path use it.
    env = await deployment('national', [root], `issuers:\n  - name: E-IMZO CA\n    sha256: ${parseCertificate(eimzoCa).sha256}\n    identifiers: [pinfl, tin]\n`);
  });

  test('the E-IMZO CA certificate at a past time: O\'zDSt signature and path hold, and a CA certificate cannot sign in', async () => {
    const { code, verdict, stderr } = await check(env, [await file('eimzo-ca.der', eimzoCa), '--at', '2020-06-01T00:00:00Z']);
    assert.equal(code, 1);
    assert.equal(verdict.accepted, false);
    assert.equal(verdict.at, '2020-06-01T00:00:00.000Z');
    assert.equal(verdict.kind, 'certificate');
    assert.deepEqual(outline(verdict), {
      parsing: 'passed', algorithm: 'passed', signature: 'passed', path: 'failed certificate_usage_invalid',
      validity: 'not checked', policy: 'not checked', revocation: 'not checked',
    });
    assert.match(found(verdict, 'algorithm'), /O'zDSt 1092:2009-II parameter set A \(CryptoPro-A\).*O'zDSt 1092:2009-II with O'zDSt 1106:2009 \(1\.2\.860\.3\.15\.1\.1\.2\.2\.2\.2, family ozdst\)/);
    assert.match(found(verdict, 'signature'), /verifies with the key of certificate "CN=ERI markazlarini ro'yxatdan o'tkazuvchi organi,/);
    assert.match(found(verdict, 'path'), /is a CA certificate/);
    assert.match(stderr, /^certificate_usage_invalid: refused at the path step: .*is a CA certificate.*\n$/);
  });

  test('the same certificate now: expired in 2022, as the text output says', async () => {
    const run = await runAdmin(['trust', 'check', await file('eimzo-ca.pem', pem(eimzoCa))], env);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /: REFUSED at \d{4}-/);
    assert.match(run.stdout, /\n {2}FAIL validity {3}certificate_expired: .*expired at 2022-05-28T11:08:27\.000Z\n/);
    assert.match(run.stdout, /\n {2}-- {3}path {7}path building stopped/);
    assert.match(run.stderr, /^certificate_expired: refused at the validity step: /);
  });

  test("the national root's own signature verifies with its own key (base64 input)", async () => {
    const { code, verdict } = await check(env, [await file('root.b64', Buffer.from(root).toString('base64')), '--at', '2020-06-01T00:00:00Z']);
    assert.equal(code, 1);
    assert.match(found(verdict, 'signature'), /verifies with the key of itself \(self-signed\)/);
    assert.equal(outline(verdict).path, 'failed certificate_untrusted');
  });
});

describe("OpenSSL gost engine's O'zDSt chain", () => {
  let env: Record<string, string>;
  let leafPem: string;
  before(async () => {
    const policy = `issuers:\n  - name: Engine O'zDSt CA\n    sha256: ${parseCertificate(chain.ca.der).sha256}\n    eku: [clientAuth]\n    identifiers: [pinfl]\n`;
    env = await deployment('engine', chain.anchors, policy);
    leafPem = await file('leaf-and-ca.pem', pem(chain.citizen.certDer) + pem(chain.ca.der));
  });

  test('a certificate with its CA, accepted: every step passed, exit 0', async () => {
    const { code, verdict, stderr } = await check(env, [leafPem]);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    assert.equal(verdict.accepted, true);
    assert.ok(verdict.steps.every((s) => s.status === 'passed'), JSON.stringify(verdict.steps));
    assert.match(found(verdict, 'path'), /"CN=ALIYEV VALI.*" → "CN=ozdst Test Citizen CA,O=Yagona Test,C=UZ" → "CN=ozdst Test Root,O=Yagona Test,C=UZ"/);
    assert.match(found(verdict, 'policy'), /the issuing CA's entry "Engine O'zDSt CA" admits it/);
    assert.match(found(verdict, 'revocation'), /not revoked: 2 certificate\(s\) below the anchor asked of the local registry/);
  });

  test("E-IMZO's CMS (BER, attached, chain inside): accepted; a flipped signature bit: signature_invalid", async () => {
    const cms = signCms({ content: challenge, signerCertDer: chain.citizen.certDer, extraCertDers: chain.citizen.chain, privateKey: chain.citizen.privateKey, encoding: 'ber', signingTime: new Date() });
    const accepted = await check(env, [await file('eimzo.p7s', pem(cms, 'CMS'))]);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.equal(accepted.verdict.kind, 'cms');
    assert.match(found(accepted.verdict, 'parsing'), /^CMS SignedData in BER, attached content of \d+ bytes, 3 certificate\(s\); the signer is certificate "CN=ALIYEV VALI/);
    assert.match(found(accepted.verdict, 'algorithm'), /over the digest O'zDSt 1106:2009.*\(1\.2\.860\.3\.15\.1\.3\.2\.1\.1\)/);
    assert.match(found(accepted.verdict, 'signature'), /messageDigest is the digest of the \d+ content bytes/);

    const flipped = Uint8Array.from(cms);
    flipped[flipped.length - 40]! ^= 0x01; // inside s‖r, before the BER end-of-contents octets
    const refused = await check(env, [await file('flipped.der', flipped)]);
    assert.equal(refused.code, 1);
    assert.deepEqual(outline(refused.verdict), {
      parsing: 'passed', algorithm: 'passed', signature: 'failed signature_invalid', path: 'passed', validity: 'passed', policy: 'passed', revocation: 'passed',
    });
    assert.match(refused.stderr, /^signature_invalid: refused at the signature step/);
  });

  test('the encodings an operator may hold: base64 of a BER CMS; PEM with a private key block beside the certificates', async () => {
    const cms = signCms({ content: challenge, signerCertDer: chain.citizen.certDer, extraCertDers: chain.citizen.chain, privateKey: chain.citizen.privateKey, encoding: 'ber' });
    const base64 = await check(env, [await file('cms.b64', `${Buffer.from(cms).toString('base64').replace(/.{76}/g, '$&\n')}\n`)]);
    assert.deepEqual([base64.code, base64.verdict.kind], [0, 'cms'], base64.stderr);
    const withKey = await check(env, [await file('with-key.pem', `${pem(chain.citizen.certDer)}${pem(new Uint8Array(48), 'PRIVATE KEY')}${pem(chain.ca.der)}`)]);
    assert.deepEqual([withKey.code, withKey.verdict.kind], [0, 'certificate'], withKey.stderr);
  });

  test('a detached CMS: its signature is checked only against --content', async () => {
    const cms = signCms({ content: challenge, signerCertDer: chain.citizen.certDer, extraCertDers: chain.citizen.chain, privateKey: chain.citizen.privateKey, detached: true });
    const path = await file('detached.der', cms);
    const without = await check(env, [path]);
    assert.equal(without.code, 1);
    assert.equal(outline(without.verdict).signature, 'not checked');
    assert.match(without.stderr, /^error: not accepted: the signature step could not be checked: the content is detached: pass --content FILE/);
    const withContent = await check(env, [path, '--content', await file('challenge.txt', challenge)]);
    assert.equal(withContent.code, 0, withContent.stderr);
    const otherContent = await check(env, [path, '--content', await file('other.txt', 'another challenge')]);
    assert.equal(outline(otherContent.verdict).signature, 'failed signature_invalid');
  });

  test('outside its CA\'s policy: certificate_usage_invalid, and no revocation source is asked', async () => {
    const strict = await deployment('strict', chain.anchors, `issuers:\n  - name: Engine O'zDSt CA\n    sha256: ${parseCertificate(chain.ca.der).sha256}\n    identifiers: [tin]\n`);
    const { code, verdict } = await check(strict, [leafPem]);
    assert.equal(code, 1);
    assert.equal(outline(verdict).policy, 'failed certificate_usage_invalid');
    assert.match(found(verdict, 'policy'), /asserts PINFL, which the trust policy does not let "Engine O'zDSt CA" assert/);
    assert.equal(outline(verdict).revocation, 'not checked');
  });

  test('revoked in the registry: certificate_revoked; the registry unreachable: not accepted, the other steps still told', async () => {
    const revoked = await deployment('revoked', chain.anchors, `issuers:\n  - name: Engine O'zDSt CA\n    sha256: ${parseCertificate(chain.ca.der).sha256}\n    identifiers: [pinfl]\n`);
    const revoke = await runAdmin(['revoke', '--cert', await file('leaf.pem', pem(chain.citizen.certDer)), '--reason', 'keyCompromise', '--yes'], revoked);
    assert.equal(revoke.code, 0, revoke.stderr);
    const { code, verdict } = await check(revoked, [leafPem]);
    assert.equal(code, 1);
    assert.equal(outline(verdict).revocation, 'failed certificate_revoked');

    const unreachable = { ...revoked, DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/test` };
    const down = await check(unreachable, [leafPem]);
    assert.equal(down.code, 1);
    assert.deepEqual(outline(down.verdict), {
      parsing: 'passed', algorithm: 'passed', signature: 'passed', path: 'passed', validity: 'passed', policy: 'passed', revocation: 'not checked',
    });
    assert.match(found(down.verdict, 'revocation'), /the revocation registry's database postgres:\/\/postgres@127\.0\.0\.1:\d+\/test is unavailable/);
  });

  test('a CRL source that cannot decide: revocation_unknown, or under REVOCATION_FAIL_MODE=open accepted, saying so', async () => {
    // The engine's certificates name no CRL distribution point: the crl source has nothing to fetch.
    const crl = { ...env, REVOCATION_CHECKS: 'local,crl', REVOCATION_ALLOWED_HOSTS: '127.0.0.1:9' };
    const closed = await check(crl, [leafPem]);
    assert.equal(closed.code, 1);
    assert.equal(outline(closed.verdict).revocation, 'failed revocation_unknown');
    const open = await check({ ...crl, REVOCATION_FAIL_MODE: 'open' }, [leafPem]);
    assert.equal(open.code, 0, open.stderr);
    assert.match(found(open.verdict, 'revocation'), /^accepted with its status unknown, as REVOCATION_FAIL_MODE=open allows: certificate "CN=ALIYEV VALI.*crl: /);
  });

  test('what is not a certificate or a CMS fails at parsing; a bad --at is a usage error', async () => {
    const junk = await check(env, [await file('junk.txt', 'hello, operator')]);
    assert.equal(junk.code, 1);
    assert.equal(outline(junk.verdict).parsing, 'failed malformed_signature');
    assert.equal(junk.verdict.kind, undefined);
    const usage = await runAdmin(['trust', 'check', leafPem, '--at', 'yesterday'], env);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--at <time>' argument 'yesterday' is invalid/);
    const missing = await runAdmin(['trust', 'check', join(dir, 'missing.pem')], env);
    assert.deepEqual([missing.code, missing.stderr], [1, `error: cannot read ${join(dir, 'missing.pem')}: ENOENT\n`]);
  });
});
