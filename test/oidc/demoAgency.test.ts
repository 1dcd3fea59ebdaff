// The demo agency app's registration on a development start (src/oidc/demoAgency.ts), with
// several instances on one database — each its own connection pool, as separate processes
// have — on SQLite and PostgreSQL: reused when the settings file proves it, otherwise left
// exactly as it was, and every outcome said in a sentence. test/oidc/firstStart.test.ts does
// the same with real `npm start` processes.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { secretMatches } from '../../src/oidc/clients.ts';
import { demoAgencyClientId, describeDemoAgency, ensureDemoAgency, type DemoAgencyOutcome } from '../../src/oidc/demoAgency.ts';
import type { Database } from '../../src/stores/types.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';

const first = 'http://localhost:8080';
const second = 'http://localhost:8081';
const appUrl = 'http://127.0.0.1:3000';
const at = new Date();

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`the demo agency registration on a shared ${kind} database`, () => {
    let database: TestDatabase;
    let dir: string;
    const open: Database[] = [];
    /** Another instance: its own connection to the same database. */
    const instance = async () => {
      const db = await database.open();
      open.push(db);
      return db.clients;
    };

    before(async () => {
      database = await openTestDatabase(kind);
      dir = await mkdtemp(join(tmpdir(), 'yagona-demo-agency-'));
    });
    after(async () => {
      await Promise.all(open.map((db) => db.close()));
      await database.cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    test('registered once; every later start reuses it or leaves it exactly as it was', async () => {
      const file = join(dir, 'a.json');
      const registered = await ensureDemoAgency(await instance(), { issuer: first, file, appUrl, at });
      assert.equal(registered.kind, 'registered');
      assert.ok(registered.kind === 'registered');
      assert.equal((await stat(file)).mode & 0o777, 0o600, 'the secret is readable by its owner only');
      const text = await readFile(file, 'utf8');
      const record = await (await instance()).find(demoAgencyClientId);
      assert.ok(record !== undefined && secretMatches(record, registered.settings.clientSecret, new Date()));

      const outcomes: Array<[string, DemoAgencyOutcome]> = [];
      const start = async (label: string, issuer: string, settingsFile: string) => {
        outcomes.push([label, await ensureDemoAgency(await instance(), { issuer, file: settingsFile, appUrl, at })]);
      };
      await start('same file, same issuer', first, file);
      await start('same file, another issuer', second, file);
      await start('no file', second, join(dir, 'none.json'));
      const otherSecret = join(dir, 'other-secret.json');
      await writeFile(otherSecret, JSON.stringify({ ...registered.settings, clientSecret: 'y'.repeat(43) }));
      await start('a file with another secret', first, otherSecret);
      const otherApp = join(dir, 'other-app.json');
      await writeFile(otherApp, JSON.stringify({ ...registered.settings, appUrl: 'http://127.0.0.1:3001' }));
      await start('a file for another app URL', first, otherApp);
      const broken = join(dir, 'broken.json');
      await writeFile(broken, '{"issuer":');
      await start('a file that does not parse', first, broken);
      const shapeless = join(dir, 'shapeless.json');
      await writeFile(shapeless, 'null');
      await start('a file of another shape', first, shapeless);

      assert.deepEqual(outcomes.map(([label, outcome]) => [label, outcome.kind, 'file' in outcome ? outcome.file : undefined]), [
        ['same file, same issuer', 'reused', undefined],
        ['same file, another issuer', 'reused-elsewhere', undefined],
        ['no file', 'left-alone', 'missing'],
        ['a file with another secret', 'left-alone', 'differs'],
        ['a file for another app URL', 'left-alone', 'differs'],
        ['a file that does not parse', 'left-alone', 'differs'],
        ['a file of another shape', 'left-alone', 'differs'],
      ]);
      assert.deepEqual(outcomes[1]![1], { kind: 'reused-elsewhere', settings: registered.settings });
      assert.deepEqual(await (await instance()).find(demoAgencyClientId), record, 'the registration never changed');
      assert.equal(await readFile(file, 'utf8'), text, 'the settings file never changed');
      await assert.rejects(stat(join(dir, 'none.json')), { code: 'ENOENT' }, 'a start without the secret writes no file');
      assert.equal(await readFile(otherSecret, 'utf8'), JSON.stringify({ ...registered.settings, clientSecret: 'y'.repeat(43) }));
    });

    test('two first starts at once: one registers, the other leaves it alone instead of failing', async () => {
      await (await instance()).remove(demoAgencyClientId);
      const [a, b] = [join(dir, 'race-a.json'), join(dir, 'race-b.json')];
      const [pool1, pool2] = [await instance(), await instance()];
      const outcomes = await Promise.all([
        ensureDemoAgency(pool1, { issuer: first, file: a, appUrl, at }),
        ensureDemoAgency(pool2, { issuer: second, file: b, appUrl, at }),
      ]);
      assert.deepEqual(outcomes.map((o) => o.kind).sort(), ['left-alone', 'registered']);
      const winner = outcomes.find((o) => o.kind === 'registered');
      assert.ok(winner?.kind === 'registered');
      const record = await pool1.find(demoAgencyClientId);
      assert.ok(record !== undefined && secretMatches(record, winner.settings.clientSecret, new Date()), 'the one registration is the written file\'s');
      const loserFile = winner.settings.issuer === first ? b : a;
      await assert.rejects(stat(loserFile), { code: 'ENOENT' });
    });
  });
}

test('each outcome is said: what was done, and what to do for the demo', () => {
  const settings = { issuer: first, clientId: demoAgencyClientId, clientSecret: 'x'.repeat(43), appUrl };
  const said = (outcome: DemoAgencyOutcome) => describeDemoAgency(outcome, second, 'data/demo-agency.json');
  assert.deepEqual(said({ kind: 'registered', settings }), { level: 'info', message: 'registered the demo agency app (npm run demo:agency); its settings are in data/demo-agency.json' });
  assert.deepEqual(said({ kind: 'reused', settings }), { level: 'info', message: 'the demo agency app is registered and data/demo-agency.json matches: reusing it (npm run demo:agency)' });
  const elsewhere = said({ kind: 'reused-elsewhere', settings });
  assert.equal(elsewhere.level, 'warn');
  assert.match(elsewhere.message, /names another instance \(http:\/\/localhost:8080\) sharing this database: left both as they are\. `ISSUER_URL=http:\/\/localhost:8081 npm run demo:agency` runs the demo against this instance/);
  for (const file of ['missing', 'differs'] as const) {
    const { level, message } = said({ kind: 'left-alone', file });
    assert.equal(level, 'warn');
    assert.match(message, file === 'missing' ? /there is no data\/demo-agency\.json here/ : /data\/demo-agency\.json does not match that registration/);
    assert.match(message, /left the registration alone, so that instance's demo keeps working; npm run demo:agency will not work with this one/);
    assert.match(message, /`npm run admin -- clients remove demo-agency` and start again to register it afresh/);
  }
});
