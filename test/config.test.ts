// Configuration: defaults with reasons, one error listing every problem, production refusals.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig, readEnvironment } from '../src/config.ts';

test('defaults: embedded development setup', () => {
  const config = loadConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.issuerUrl, 'http://localhost:8080');
  assert.equal(config.databaseUrl, 'sqlite:data/yagona.sqlite');
  assert.equal(config.redisUrl, undefined);
  assert.equal(config.devPki, true);
  assert.equal(config.trustAnchorsDir, 'certs/dev/trust');
  assert.equal(config.intermediatesDir, 'certs/dev/intermediates');
  assert.equal(config.challengeTtlSeconds, 120);
  assert.equal(config.sessionTtlSeconds, 600);
  assert.deepEqual(config.revocationChecks, ['local']);
  assert.equal(config.revocationFailMode, 'closed');
  assert.ok(Object.isFrozen(config));
});

test('ISSUER_URL follows PORT and loses a trailing slash', () => {
  assert.equal(loadConfig({ PORT: '9000' }).issuerUrl, 'http://localhost:9000');
  assert.equal(loadConfig({ ISSUER_URL: 'https://id.example.uz/' }).issuerUrl, 'https://id.example.uz');
});

test('a configured trust folder switches the development PKI off', () => {
  const config = loadConfig({ TRUST_ANCHORS_DIR: '/etc/yagona/trust' });
  assert.equal(config.devPki, false);
  assert.equal(config.trustAnchorsDir, '/etc/yagona/trust');
  assert.equal(config.intermediatesDir, 'certs/intermediates');
});

test('every problem is named in one error, one line each', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', REVOCATION_FAIL_MODE: 'maybe', CHALLENGE_TTL_SECONDS: '0' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const lines = error.message.split('\n');
      assert.deepEqual(lines.map((line) => /^bad configuration: ([A-Z_]+): ./.exec(line)?.[1]), ['PORT', 'DATABASE_URL', 'CHALLENGE_TTL_SECONDS', 'REVOCATION_FAIL_MODE']);
      return true;
    },
  );
});

test('signature families: the default, a chosen list, and names checked against the built-in ones', () => {
  assert.deepEqual(loadConfig({}).signatureAlgorithms, ['rsa', 'rsa-pss', 'ecdsa', 'ed25519', 'ozdst']);
  assert.deepEqual(loadConfig({ SIGNATURE_ALGORITHMS: 'ozdst, gost2012,ozdst' }).signatureAlgorithms, ['ozdst', 'gost2012']);
  assert.throws(() => loadConfig({ SIGNATURE_ALGORITHMS: 'ecdsa,dsa' }), /bad configuration: SIGNATURE_ALGORITHMS: unknown family "dsa" \(built in: rsa, rsa-pss, ecdsa, ed25519, ozdst, gost2012; others come from SIGNATURE_PLUGINS\)$/);
  assert.throws(() => loadConfig({ SIGNATURE_ALGORITHMS: 'ECDSA' }), /^[^\n]*SIGNATURE_ALGORITHMS: "ECDSA" is not a family name[^\n]*$/);
  assert.throws(() => loadConfig({ SIGNATURE_ALGORITHMS: ' , ' }), /SIGNATURE_ALGORITHMS/);
  // With plug-ins, other names are checked once they are loaded (test/pki/algorithms/plugin.test.ts).
  assert.deepEqual(loadConfig({ SIGNATURE_ALGORITHMS: 'ecdsa,ed448', SIGNATURE_PLUGINS: './plugin.ts' }).signaturePlugins, ['./plugin.ts']);
});

test('EIMZO_API_KEYS: E-IMZO\'s published development keys by default, domain:key pairs, each checked', () => {
  assert.deepEqual(loadConfig({}).eimzoApiKeys.map(({ domain, key }) => `${domain}:${key.slice(0, 8)}…${key.length}`), ['localhost:96D0C149…128', '127.0.0.1:A7BCFA5D…128']);
  const key = 'AB'.repeat(64);
  assert.deepEqual(loadConfig({ EIMZO_API_KEYS: `id.example.uz:${key}, localhost:${key}` }).eimzoApiKeys, [{ domain: 'id.example.uz', key }, { domain: 'localhost', key }]);
  for (const bad of ['id.example.uz', `https://id.example.uz:${key}`, 'id.example.uz:not-hex', ' , ']) {
    assert.throws(() => loadConfig({ EIMZO_API_KEYS: bad }), /bad configuration: EIMZO_API_KEYS(\.\d+)?: (domain:KEY|names no domain)/, bad);
  }
});

test('WORKERS: 1 by default, a number, or auto (one per core); more than one needs REDIS_URL', () => {
  assert.equal(loadConfig({}).workers, 1);
  assert.equal(loadConfig({ WORKERS: '3', REDIS_URL: 'redis://r:6379' }).workers, 3);
  assert.equal(loadConfig({ WORKERS: 'auto', REDIS_URL: 'redis://r:6379' }).workers, availableParallelism());
  assert.throws(() => loadConfig({ WORKERS: '0' }), /^ConfigError: bad configuration: WORKERS: "0" is not a number of processes \(1–256\) or auto$/);
  assert.throws(() => loadConfig({ WORKERS: 'all' }), /WORKERS: "all" is not/);
  assert.throws(() => loadConfig({ WORKERS: '2' }), /^ConfigError: bad configuration: WORKERS: 2 processes need REDIS_URL \(the in-process store cannot be shared between them\)$/);
});

test('production refuses unsafe settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-prod-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const TRUST_POLICY_FILE = join(dir, 'policy.yaml');
  writeFileSync(TRUST_POLICY_FILE, `issuers:\n  - { name: CA, sha256: ${'0'.repeat(64)} }\n`);
  assert.throws(() => loadConfig({ NODE_ENV: 'production', TRUST_ANCHORS_DIR: 't', REDIS_URL: 'redis://r:6379', TRUST_POLICY_FILE }), /KEYS_SECRET/);
  assert.throws(() => loadConfig({ NODE_ENV: 'production', TRUST_ANCHORS_DIR: 't', KEYS_SECRET: 'a-long-enough-secret', TRUST_POLICY_FILE }), /REDIS_URL/);
  const config = loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', KEYS_SECRET: 'a-long-enough-secret', TRUST_ANCHORS_DIR: 't', TRUST_POLICY_FILE });
  assert.equal(config.devPki, false);
  // Without TRUST_ANCHORS_DIR production trusts certs/trust, never a generated PKI.
  assert.equal(loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', KEYS_SECRET: 'a-long-enough-secret', TRUST_POLICY_FILE }).trustAnchorsDir, 'certs/trust');
});

test('revocation sources: a comma list of known names', () => {
  assert.deepEqual(loadConfig({ REVOCATION_CHECKS: 'local, local' }).revocationChecks, ['local']);
  assert.throws(() => loadConfig({ REVOCATION_CHECKS: 'carrier-pigeon' }), /REVOCATION_CHECKS/);
});

test('revocation sources: crl and ocsp in order, only towards allowed hosts or designated responders', () => {
  const config = loadConfig({
    REVOCATION_CHECKS: 'local,ocsp,crl', REVOCATION_ALLOWED_HOSTS: 'CRL.Example.uz, 127.0.0.1:8081',
    OCSP_RESPONDERS: '{"CN=Citizen CA, O=Example, C=UZ": "http://ocsp.example.uz/"}',
  });
  assert.deepEqual(config.revocationChecks, ['local', 'ocsp', 'crl']);
  assert.deepEqual(config.revocationAllowedHosts, ['crl.example.uz', '127.0.0.1:8081']);
  assert.deepEqual(config.ocspResponders, { 'cn=citizen ca,o=example,c=uz': 'http://ocsp.example.uz/' });
  assert.deepEqual([config.ocspTimeoutMs, config.crlTimeoutMs, config.crlMaxBytes], [5000, 10_000, 32 * 1024 * 1024]);
  // Without an allowed host nothing could be fetched: a start error, never a silent "not revoked".
  assert.throws(() => loadConfig({ REVOCATION_CHECKS: 'local,crl' }), /REVOCATION_ALLOWED_HOSTS: required when REVOCATION_CHECKS includes crl/);
  assert.throws(() => loadConfig({ REVOCATION_CHECKS: 'ocsp' }), /REVOCATION_ALLOWED_HOSTS: .*OCSP_RESPONDERS/);
  assert.equal(loadConfig({ REVOCATION_CHECKS: 'ocsp', OCSP_RESPONDERS: '{"CN=CA":"http://o/"}' }).revocationChecks[0], 'ocsp');
  assert.throws(() => loadConfig({ REVOCATION_ALLOWED_HOSTS: 'http://crl.example.uz/' }), /REVOCATION_ALLOWED_HOSTS/);
  assert.throws(() => loadConfig({ OCSP_RESPONDERS: '{"CN=CA":"ldap://o/"}' }), /OCSP_RESPONDERS/);
  assert.throws(() => loadConfig({ OCSP_RESPONDERS: 'not json' }), /OCSP_RESPONDERS/);
  assert.throws(() => loadConfig({ CRL_MAX_BYTES: String(64 * 1024 * 1024) }), /CRL_MAX_BYTES/);
});

test('.env: read from the working directory, real variables win, ENV_FILE names another file or (empty) none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-env-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // No file: the environment as it is.
  assert.deepEqual(readEnvironment({ PORT: '9000' }, dir), { PORT: '9000' });
  writeFileSync(join(dir, '.env'), '# comment\nPORT=9001\nLOG_LEVEL=debug\nOCSP_RESPONDERS={"CN=Citizen CA,O=Example,C=UZ":"http://ocsp.example.uz/"}\n');
  const merged = readEnvironment({ PORT: '9000' }, dir);
  assert.equal(merged.PORT, '9000', 'the real variable wins');
  assert.equal(merged.LOG_LEVEL, 'debug');
  assert.deepEqual(loadConfig(merged).ocspResponders, { 'cn=citizen ca,o=example,c=uz': 'http://ocsp.example.uz/' });
  // An empty real variable is still a real variable: it wins over the file too.
  assert.equal(readEnvironment({ LOG_LEVEL: '' }, dir).LOG_LEVEL, '');
  assert.deepEqual(readEnvironment({ ENV_FILE: '' }, dir), { ENV_FILE: '' });
  writeFileSync(join(dir, 'other.env'), 'PORT=9002\n');
  assert.equal(readEnvironment({ ENV_FILE: 'other.env' }, dir).PORT, '9002');
  assert.throws(() => readEnvironment({ ENV_FILE: 'missing.env' }, dir), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, `bad configuration: ENV_FILE: cannot read ${join(dir, 'missing.env')} (ENOENT)`);
    return true;
  });
});

test('.env: a bad value there is the same error as a bad real variable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-env-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '.env'), 'PORT=eighty\nREVOCATION_FAIL_MODE=maybe\n');
  const fromFile = (() => { try { loadConfig(readEnvironment({}, dir)); } catch (error) { return error; } })();
  const fromEnv = (() => { try { loadConfig({ PORT: 'eighty', REVOCATION_FAIL_MODE: 'maybe' }); } catch (error) { return error; } })();
  assert.ok(fromFile instanceof ConfigError && fromEnv instanceof ConfigError);
  assert.equal(fromFile.message, fromEnv.message);
  assert.match(fromFile.message, /^bad configuration: PORT: [^\n]*\nbad configuration: REVOCATION_FAIL_MODE: [^\n]*$/);
});

test('.env.example copied to .env is a valid configuration: the defaults', () => {
  const root = new URL('..', import.meta.url).pathname;
  assert.deepEqual(loadConfig(readEnvironment({ ENV_FILE: '.env.example' }, root)), loadConfig({}));
});

test('REDIS_URL: every form the store connects to; a Sentinel URL names its master', () => {
  for (const url of [
    'redis://127.0.0.1:6379/2', 'rediss://user:pw@redis.example:6380', 'redis-cluster://10.0.0.1:7000,10.0.0.2:7000',
    'redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/yagona?sentinelPassword=s', 'unix:///run/redis/redis.sock', '/run/redis/redis.sock',
  ]) assert.equal(loadConfig({ REDIS_URL: url }).redisUrl, url);
  for (const url of ['http://redis:6379', 'redis-sentinel://10.0.0.1:26379', 'redis-sentinel://10.0.0.1:26379/', 'run/redis.sock', 'memcached://x']) {
    assert.throws(() => loadConfig({ REDIS_URL: url }), /^ConfigError: bad configuration: REDIS_URL: redis:\/\//, url);
  }
});

test('TRUST_PROXY: none by default, a hop count, or addresses, CIDR ranges and names; never `true`', () => {
  assert.equal(loadConfig({}).trustProxy, false);
  assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
  assert.equal(loadConfig({ TRUST_PROXY: '1' }).trustProxy, 1);
  assert.deepEqual(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,2001:db8::/32,192.0.2.7' }).trustProxy, ['loopback', '10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
  assert.throws(() => loadConfig({ TRUST_PROXY: 'true' }), /TRUST_PROXY: true would believe any client/);
  for (const bad of ['10.0.0.0/33', 'nginx.local', '10.0.0.0/8/1', '::1/129', 'loopback,']) {
    assert.throws(() => loadConfig({ TRUST_PROXY: bad }), /TRUST_PROXY: ".*" is not a hop count/, bad);
  }
});

test('rate limits: each its own setting with a default; RATE_LIMIT_PER_MINUTE keeps its meaning', () => {
  assert.deepEqual({ ...loadConfig({}).rateLimits }, {
    perAddress: 120, authorizePerAddress: 60, loginPagePerAddress: 120, tokenPerAddress: 1200, tokenFailuresPerClient: 30, perCertificate: 20,
  });
  assert.equal(loadConfig({ RATE_LIMIT_PER_MINUTE: '7' }).rateLimits.perAddress, 7);
  assert.throws(() => loadConfig({ RATE_LIMIT_CERTIFICATE_PER_MINUTE: '0' }), /RATE_LIMIT_CERTIFICATE_PER_MINUTE/);
  assert.equal(loadConfig({}).shutdownGraceSeconds, 20);
});

describe('TRUST_POLICY_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-policy-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const eimzoCa = '08751444881d39a3bb2515d0025c87d416105d52b49ee0f36980d092d1476ded';
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message.split('\n');
    }
    return assert.fail('accepted');
  };

  test('YAML in the documented shape: names, fingerprints with colons, EKU names, policies, identifiers, acr', () => {
    const file = write('policy.yaml', `issuers:
  - name: E-IMZO citizens CA          # shown in audit and trust check
    sha256: ${eimzoCa.toUpperCase().match(/../g)!.join(':')}
    eku: [clientAuth]
    policies: [1.2.860.3.2.2.1.2.1]
    identifiers: [pinfl, tin]
    acr: urn:yagona:loa:high
  - name: Seal CA
    sha256: ${'ab'.repeat(32)}
`);
    const policy = loadConfig({ TRUST_POLICY_FILE: file }).trustPolicy;
    assert.deepEqual(policy, {
      file,
      issuers: [
        { name: 'E-IMZO citizens CA', sha256: eimzoCa, eku: ['1.3.6.1.5.5.7.3.2'], policies: ['1.2.860.3.2.2.1.2.1'], identifiers: ['pinfl', 'tin'], acr: 'urn:yagona:loa:high' },
        { name: 'Seal CA', sha256: 'ab'.repeat(32), identifiers: [] },
      ],
    });
  });

  test('JSON is YAML too', () => {
    const file = write('policy.json', JSON.stringify({ issuers: [{ name: 'CA', sha256: eimzoCa, eku: ['1.3.6.1.5.5.7.3.4'] }] }));
    assert.deepEqual(loadConfig({ TRUST_POLICY_FILE: file }).trustPolicy?.issuers[0]?.eku, ['1.3.6.1.5.5.7.3.4']);
  });

  test('a typo stops the start, each problem on its own line naming where it is, beside the variables\' problems', () => {
    const file = write('typo.yaml', `issuers:
  - name: E-IMZO citizens CA
    sha256: 0875144488
    ekus: [clientAuth]
  - name: Other
    sha256: ${eimzoCa}
    eku: [clientAuthentication]
    identifiers: [pinfl, passport]
    acr: urn:yagona:loa:low
  - name: Again
    sha256: ${eimzoCa}
`);
    assert.deepEqual(problems({ TRUST_POLICY_FILE: file, PORT: 'eighty' }), [
      'bad configuration: PORT: Invalid input: expected number, received NaN',
      `bad configuration: TRUST_POLICY_FILE: ${file}: issuers[0].sha256: "0875144488" is not a SHA-256 fingerprint (64 hexadecimal digits, colons allowed)`,
      `bad configuration: TRUST_POLICY_FILE: ${file}: issuers[0]: unknown key "ekus"`,
      `bad configuration: TRUST_POLICY_FILE: ${file}: issuers[1].eku[0]: unknown extended key usage "clientAuthentication" (known: serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, ocspSigning, anyExtendedKeyUsage; or a dotted OID)`,
      `bad configuration: TRUST_POLICY_FILE: ${file}: issuers[1].identifiers[1]: "passport" is not one of pinfl, tin`,
      `bad configuration: TRUST_POLICY_FILE: ${file}: issuers[1].acr: "urn:yagona:loa:low" is not one of urn:yagona:loa:substantial, urn:yagona:loa:high`,
      `bad configuration: TRUST_POLICY_FILE: ${file}: issuers[2].sha256: the same CA as issuers[1]`,
    ]);
  });

  test('a file that is not YAML, missing, or names no CA', () => {
    const broken = write('broken.yaml', 'issuers:\n  - name: a\n    name: b\n');
    assert.deepEqual(problems({ TRUST_POLICY_FILE: broken }), [`bad configuration: TRUST_POLICY_FILE: ${broken}: not YAML: Map keys must be unique at line 3, column 5`]);
    assert.deepEqual(problems({ TRUST_POLICY_FILE: join(dir, 'missing.yaml') }), [`bad configuration: TRUST_POLICY_FILE: ${join(dir, 'missing.yaml')}: cannot read it (ENOENT)`]);
    assert.deepEqual(problems({ TRUST_POLICY_FILE: write('empty.yaml', 'issuers: []\n') }), [`bad configuration: TRUST_POLICY_FILE: ${join(dir, 'empty.yaml')}: issuers: names no issuing CA`]);
  });

  test('production refuses to start without one; elsewhere the development PKI has its own, and other anchors none', () => {
    const production = { NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', KEYS_SECRET: 'a-long-enough-secret', TRUST_ANCHORS_DIR: 't' };
    assert.deepEqual(problems(production), ['bad configuration: TRUST_POLICY_FILE: required when NODE_ENV=production (which CAs may sign citizens in, and which identifiers each may assert)']);
    const file = write('prod.yaml', `issuers:\n  - { name: CA, sha256: ${eimzoCa} }\n`);
    assert.equal(loadConfig({ ...production, TRUST_POLICY_FILE: file }).trustPolicy?.issuers.length, 1);
    assert.equal(loadConfig({}).trustPolicyFile, 'certs/dev/trust-policy.yaml');
    assert.equal(loadConfig({}).trustPolicy, undefined, 'read once the development PKI exists (withTrustPolicy)');
    assert.equal(loadConfig({ TRUST_ANCHORS_DIR: 't' }).trustPolicyFile, undefined);
  });
});
