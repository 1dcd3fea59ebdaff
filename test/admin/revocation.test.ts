// The operator commands for the registry, the CRL import, key rotation and the audit log, run
// as an operator runs them: the same program with the service's environment (in process; what
// only a process shows — its exit status, its one stderr line, the terminal prompt — is run as
// one too). Every bad input is one stderr line, a non-zero exit and no write at all
// (docs/security-cases.md #123, §K 147).
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase } from '../../src/stores/sql/database.ts';
import { createTestPki, type TestPki } from '../helpers/testPki.ts';
import { makeCrl } from '../helpers/crlServer.ts';
import { assertOneLineFailure, runAdmin, runAdminAtTerminal } from '../helpers/admin.ts';
import { pem } from '../helpers/pem.ts';
import { postgresDatabase, scratchDir } from '../revocation/processes.ts';

const caDn = 'CN=Test Citizen CA,O=Yagona Test,C=UZ';

let pki: TestPki;
let dir: string;
let env: Record<string, string>;
let databaseUrl: string;
let cleanup: () => Promise<void>;

before(async () => {
  pki = await createTestPki();
  const scratch = await scratchDir(pki.anchors);
  dir = scratch.dir;
  cleanup = scratch.cleanup;
  databaseUrl = `sqlite:${join(dir, 'data', 'yagona.sqlite')}`;
  env = { DATABASE_URL: databaseUrl, TRUST_ANCHORS_DIR: scratch.trustDir };
});
after(async () => cleanup());

/** What the database holds: nothing may change on a refused command. */
async function snapshot(url = databaseUrl) {
  const db = await openDatabase(url);
  try {
    return { revocations: await db.revocations.list(), epoch: await db.revocations.epoch(), audit: (await db.audit.tail(1000)).length };
  } finally {
    await db.close();
  }
}

describe('bad operator input: one line, non-zero exit, nothing written', () => {
  test('each refusal', async () => {
    const citizen = await pki.citizen();
    await writeFile(join(dir, 'two.pem'), pem(citizen.certDer) + pem(pki.ca.certDer));
    await writeFile(join(dir, 'junk.pem'), 'not a certificate');
    const before = await snapshot();
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [['revoke', '--serial', citizen.serialHex, '--issuer', caDn, '--reason', 'stolen'], /--reason "stolen" is not an RFC 5280 reason/],
      [['revoke', '--serial', 'xyz', '--issuer', caDn], /--serial "xyz" is not hexadecimal/],
      [['revoke', '--serial', '-1A', '--issuer', caDn], /negative serial/],
      [['revoke', '--serial', '1234 (0x4d2)', '--issuer', caDn], /decimal form/],
      [['revoke', '--serial', '00', '--issuer', caDn], /positive/],
      [['revoke', '--serial', citizen.serialHex], /--serial needs --issuer/],
      [['revoke', '--serial', citizen.serialHex, '--issuer', 'CN=Test Citizen CA,O'], /--issuer .*does not parse/],
      [['revoke', '--serial', citizen.serialHex, '--issuer', "Robert'); DROP TABLE revocations;--"], /--issuer .*does not parse/],
      [['revoke', '--cert', join(dir, 'missing.pem')], /cannot read --cert .*ENOENT/],
      [['revoke', '--cert', join(dir, 'junk.pem')], /not an X.509 certificate/],
      [['revoke', '--cert', join(dir, 'two.pem')], /holds 2 certificates/],
      [['revoke'], /name the certificate/],
      [['revoke', '--cert', join(dir, 'two.pem'), '--serial', '01', '--issuer', caDn], /either --cert or --serial/],
      [['import-crl', join(dir, 'missing.crl')], /cannot read .*ENOENT/],
      [['import-crl', join(dir, 'junk.pem')], /is not a CRL/],
      [['unrevoke', '--serial', 'zz', '--issuer', caDn], /not hexadecimal/],
      // Database down: the one line names it (the password never shows).
      [['revoke', '--serial', citizen.serialHex, '--issuer', caDn], /^error: the database postgres:\/\/op:\*\*\*@127\.0\.0\.1:1\/x is unavailable: .*ECONNREFUSED/, { DATABASE_URL: 'postgres://op:secret@127.0.0.1:1/x' }],
      [['audit', 'verify'], /the database .* is unavailable/, { DATABASE_URL: 'postgres://op:secret@127.0.0.1:1/x' }],
    ];
    for (const [args, pattern, extraEnv] of cases) {
      const confirmed = args[0] === 'audit' ? args : [...args, '--yes'];
      assertOneLineFailure(await runAdmin(confirmed, { ...env, ...extraEnv }), pattern);
    }
    // Without a terminal and without --yes, a state change is refused.
    assertOneLineFailure(await runAdmin(['revoke', '--serial', citizen.serialHex, '--issuer', caDn], env), /pass --yes/);
    assert.deepEqual(await snapshot(), before);
  });
});

describe('at a terminal, a state change is asked first', () => {
  test('anything but yes changes nothing; yes typed at a real terminal revokes', async () => {
    const citizen = await pki.citizen();
    const args = ['revoke', '--serial', citizen.serialHex, '--issuer', caDn];
    const question = `Revoke serial ${citizen.serialHex} issued by "cn=test citizen ca,o=yagona test,c=uz" (unspecified)? Its sessions end at once. [y/N] `;
    const before = await snapshot();
    const declined = await runAdmin(args, env, { answer: 'no' });
    assert.deepEqual(declined.questions, [question]);
    assertOneLineFailure(declined, /^error: cancelled: nothing was changed$/);
    assert.deepEqual(await snapshot(), before);

    // The process finds its terminal and reads the answer from it (src/admin/command.ts processIo).
    const typed = await runAdminAtTerminal(args, env, 'y\n');
    assert.equal(typed.code, 0, typed.output);
    assert.ok(typed.output.includes(question), typed.output);
    assert.match(typed.output, /^Revoked serial /m);
    const db = await openDatabase(databaseUrl);
    try {
      assert.equal((await db.revocations.find('cn=test citizen ca,o=yagona test,c=uz', citizen.serialHex))?.reason, 'unspecified');
    } finally {
      await db.close();
    }
  });
});

describe('revoke, unrevoke, revocations', () => {
  test('the same certificate by file and by any spelling of serial and issuer is one record; unrevoke only lifts a hold', async () => {
    const citizen = await pki.citizen();
    const file = join(dir, 'citizen.pem');
    await writeFile(file, pem(citizen.certDer));
    const first = await runAdmin(['revoke', '--cert', file, '--reason', 'superseded', '--yes', '--json'], env);
    assert.equal(first.code, 0, first.stderr);
    const json = JSON.parse(first.stdout) as { new: boolean; serialHex: string; issuer: string; sha256: string };
    assert.equal(json.new, true);
    assert.equal(json.serialHex, citizen.serialHex);
    const second = await runAdmin(['revoke', '--serial', `0000${citizen.serialHex.toLowerCase()}`, '--issuer', 'cn=test citizen ca,  o=yagona test,c=UZ', '--reason', 'keyCompromise', '--yes', '--json'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal((JSON.parse(second.stdout) as { new: boolean }).new, false);
    const list = JSON.parse((await runAdmin(['revocations', '--json'], env)).stdout) as Array<{ serialHex: string; reason: string; sha256: string | null; source: string }>;
    const mine = list.filter((r) => r.serialHex === citizen.serialHex);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]?.reason, 'superseded');
    assert.equal(mine[0]?.sha256, json.sha256);
    assert.match(mine[0]?.source ?? '', /^admin:/);

    const one = await runAdmin(['revocations', '--serial', citizen.serialHex, '--issuer', caDn, '--json'], env);
    assert.equal((JSON.parse(one.stdout) as { reason: string }).reason, 'superseded');
    const none = await runAdmin(['revocations', '--serial', '7FFFFFFF', '--issuer', caDn, '--json'], env);
    assert.equal(JSON.parse(none.stdout), null);

    const final = await runAdmin(['unrevoke', '--cert', file, '--yes'], env);
    assertOneLineFailure(final, /only a certificateHold can be lifted.*superseded/);

    const held = await pki.citizen();
    assert.equal((await runAdmin(['revoke', '--serial', held.serialHex, '--issuer', caDn, '--reason', 'certificateHold', '--yes'], env)).code, 0);
    const lifted = await runAdmin(['unrevoke', '--serial', held.serialHex, '--issuer', caDn, '--operator', 'second-operator', '--yes', '--json'], env);
    assert.equal(lifted.code, 0, lifted.stderr);
    assert.equal((JSON.parse(lifted.stdout) as { unrevoked: boolean }).unrevoked, true);
    const notHeld = await runAdmin(['unrevoke', '--serial', held.serialHex, '--issuer', caDn, '--yes', '--json'], env);
    assert.equal((JSON.parse(notHeld.stdout) as { unrevoked: boolean }).unrevoked, false, 'idempotent');
    const events = JSON.parse((await runAdmin(['audit', 'tail', '-n', '3', '--json'], env)).stdout) as Array<{ type: string; actor?: string }>;
    assert.ok(events.some((e) => e.type === 'unrevocation' && e.actor === 'second-operator'));
  });
});

describe('import-crl', () => {
  let file: string;
  before(async () => {
    const entries = Array.from({ length: 100_000 }, (_, i) => ({ serialHex: (0x1000000 + i).toString(16).toUpperCase(), ...(i % 10 === 0 ? { reason: 'keyCompromise' } : {}) }));
    file = join(dir, 'big.crl');
    await writeFile(file, makeCrl(pki.ca, { revoked: entries }));
  });

  // The small cases first, while the registry is small: each reads it all to prove nothing changed.
  test('a CRL whose signature does not verify under the named CA is refused whole', async () => {
    const crl = makeCrl(pki.ca, { revoked: [{ serialHex: 'ABCDEF01' }] });
    // The last octet belongs to the signature value.
    crl[crl.length - 1] = (crl[crl.length - 1] as number) ^ 0x01;
    const file = join(dir, 'altered.crl');
    await writeFile(file, crl);
    await writeFile(join(dir, 'ca.pem'), pem(pki.ca.certDer));
    const before = await snapshot();
    assertOneLineFailure(await runAdmin(['import-crl', file, '--ca', join(dir, 'ca.pem'), '--yes'], env), /signature does not verify/);
    assert.deepEqual(await snapshot(), before);
  });

  test('PEM, and an unverified or stale CRL is imported but says so', async () => {
    const other = await createTestPki();
    const file = join(dir, 'other.pem.crl');
    await writeFile(file, makeCrl(other.ca, {
      revoked: [{ serialHex: '0A0B' }, { serialHex: '0A0C', reason: 'certificateHold' }],
      format: 'pem', thisUpdate: new Date('2025-01-01T00:00:00Z'), nextUpdate: new Date('2025-01-08T00:00:00Z'),
    }));
    const run = await runAdmin(['import-crl', file, '--yes'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /2 entries.*2 new/);
    assert.match(run.stdout, /signature NOT verified/);
    assert.match(run.stdout, /Warning: stale: nextUpdate 2025-01-08/);
    const db = await openDatabase(databaseUrl);
    try {
      assert.equal((await db.revocations.find('cn=test citizen ca,o=yagona test,c=uz', '0A0C'))?.reason, 'certificateHold');
    } finally {
      await db.close();
    }
  });

  test('100 000 entries in one transaction, signature verified with the configured CA, rate printed', async () => {
    // The CA certificate from INTERMEDIATES_DIR, as a deployment configures it.
    const intermediates = join(dir, 'intermediates');
    await mkdir(intermediates);
    await writeFile(join(intermediates, 'citizen-ca.pem'), pem(pki.ca.certDer));
    const run = await runAdmin(['import-crl', file, '--yes', '--json'], { ...env, INTERMEDIATES_DIR: intermediates });
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as { entries: number; added: number; seconds: number; entriesPerSecond: number; signature: { status: string } };
    process.stdout.write(`# import-crl (SQLite): ${summary.entries} entries in ${summary.seconds} s, ${summary.entriesPerSecond} entries/s\n`);
    assert.equal(summary.entries, 100_000);
    assert.equal(summary.added, 100_000);
    assert.equal(summary.signature.status, 'verified');
    const db = await openDatabase(databaseUrl);
    try {
      assert.equal((await db.revocations.find('cn=test citizen ca,o=yagona test,c=uz', '01000000'))?.reason, 'keyCompromise');
      assert.equal((await db.revocations.find('cn=test citizen ca,o=yagona test,c=uz', '01000001'))?.reason, 'unspecified');
    } finally {
      await db.close();
    }
    const again = JSON.parse((await runAdmin(['import-crl', file, '--yes', '--json', '--ca', join(intermediates, 'citizen-ca.pem')], env)).stdout) as { added: number; alreadyKnown: number };
    assert.deepEqual([again.added, again.alreadyKnown], [0, 100_000], 'idempotent');
  });

  test('100 000 entries into PostgreSQL', async () => {
    const database = await postgresDatabase();
    try {
      const run = await runAdmin(['import-crl', file, '--yes', '--json'], { ...env, DATABASE_URL: database.url });
      assert.equal(run.code, 0, run.stderr);
      const summary = JSON.parse(run.stdout) as { entries: number; added: number; seconds: number; entriesPerSecond: number };
      process.stdout.write(`# import-crl (PostgreSQL): ${summary.entries} entries in ${summary.seconds} s, ${summary.entriesPerSecond} entries/s\n`);
      assert.equal(summary.entries, 100_000);
      assert.equal(summary.added, 100_000);
      const db = await openDatabase(database.url);
      try {
        assert.equal((await db.revocations.list({ limit: 200_000 })).length, 100_000);
        assert.equal((await db.revocations.find('cn=test citizen ca,o=yagona test,c=uz', '01000000'))?.reason, 'keyCompromise');
        assert.equal((await db.revocations.find('cn=test citizen ca,o=yagona test,c=uz', '0101869F'))?.reason, 'unspecified', 'the last entry');
      } finally {
        await db.close();
      }
    } finally {
      await database.drop();
    }
  });
});

describe('keys rotate', () => {
  test('a new key becomes active; the old one is retired, not removed', async () => {
    const before = await snapshotKeys();
    const run = await runAdmin(['keys', 'rotate', '--yes', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { kid: string; retiredKid: string };
    const after = await snapshotKeys();
    assert.equal(after.find((k) => k.kid === result.kid)?.retiredAt, null);
    assert.ok(after.find((k) => k.kid === result.retiredKid)?.retiredAt instanceof Date);
    assert.ok(after.length >= before.length + 1);
    const events = JSON.parse((await runAdmin(['audit', 'tail', '-n', '1', '--json'], env)).stdout) as Array<{ type: string; details: { kid: string } }>;
    assert.equal(events[0]?.type, 'key_rotation');
    assert.equal(events[0]?.details.kid, result.kid);
  });
});

async function snapshotKeys() {
  const db = await openDatabase(databaseUrl);
  try {
    return await db.signingKeys.list();
  } finally {
    await db.close();
  }
}

describe('audit verify finds an edited or deleted row', () => {
  for (const kind of ['sqlite', 'postgres'] as const) {
    test(kind, async () => {
      let kindEnv = env;
      let exec: (sql: string) => Promise<void>;
      let drop: () => Promise<void> = async () => undefined;
      if (kind === 'postgres') {
        const database = await postgresDatabase();
        kindEnv = { ...env, DATABASE_URL: database.url };
        exec = database.exec;
        drop = database.drop;
      } else {
        const { default: Sqlite } = await import('better-sqlite3');
        const scratch = await scratchDir([]);
        kindEnv = { ...env, DATABASE_URL: `sqlite:${join(scratch.dir, 'audit.sqlite')}` };
        exec = async (sql) => {
          const db = new Sqlite(join(scratch.dir, 'audit.sqlite'));
          db.exec(sql);
          db.close();
        };
        drop = scratch.cleanup;
      }
      try {
        for (const serial of ['01', '02', '03']) {
          assert.equal((await runAdmin(['revoke', '--serial', serial, '--issuer', caDn, '--yes'], kindEnv)).code, 0);
        }
        const intact = await runAdmin(['audit', 'verify', '--json'], kindEnv);
        assert.equal(intact.code, 0, intact.stderr);
        assert.equal((JSON.parse(intact.stdout) as { rows: number }).rows, 3);

        await exec(`UPDATE audit_log SET actor = 'someone else' WHERE id = 2`);
        assertOneLineFailure(await runAdmin(['audit', 'verify'], kindEnv), /^error: audit chain broken at row 2: .*edited/);

        await exec(`DELETE FROM audit_log WHERE id = 2`);
        const deleted = await runAdmin(['audit', 'verify', '--json'], kindEnv);
        assert.equal(deleted.code, 1);
        assert.match(deleted.stderr, /row 2 is missing/);
        assert.equal((JSON.parse(deleted.stdout) as { firstBadId: number }).firstBadId, 2);
      } finally {
        await drop();
      }
    });
  }
});
