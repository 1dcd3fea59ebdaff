// Grant bookkeeping races that HTTP tests cannot time: a logout landing while a refresh
// or code redemption is between reading the grant and writing its successor.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import type { CreatedSession } from '../../src/login/sessions.ts';
import { createGrants } from '../../src/oidc/grants.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';

function session(sid: string): CreatedSession {
  const now = Math.floor(Date.now() / 1000);
  return {
    accessToken: `token-${sid}`,
    expiresIn: 600,
    record: {
      sid, jti: `jti-${sid}`, sub: 'pairwise-sub', aud: 'agency-1', authTime: now, expiresAt: now + 600, amr: ['pop', 'swk'], acr: 'urn:yagona:loa:substantial',
      certificateSha256: 'ab'.repeat(32), certificatePath: [{ issuer: 'cn=ca', serialHex: '01' }],
      identity: { certificate: { serialNumber: '01', issuer: 'CN=CA', subject: 'CN=A', notBefore: '', notAfter: '', sha256: 'ab'.repeat(32) } },
    },
  };
}

test('a grant ended while a refresh is in flight stays ended: the refresh undoes what it wrote', async () => {
  const store = createMemoryStore();
  const grants = createGrants({ store, clock: systemClock });
  const request = { clientId: 'agency-1', redirectUri: 'https://a.example/cb', scope: ['openid'], codeChallenge: 'c'.repeat(43) };
  await grants.start(request, session('s1'), 'browser-1');
  const grantId = (await grants.ofSession('s1'))?.grantId as string;
  const first = await grants.renew((await grants.get(grantId))!, undefined);
  assert.ok(first);

  // The refresh read the grant, then a logout ended it, then the refresh writes its successor.
  const stale = (await grants.get(grantId))!;
  assert.ok(await grants.end(grantId));
  await store.put('session:s2', { sid: 's2' }, 600);
  const renewed = await grants.renew(stale, session('s2'));
  assert.equal(renewed, undefined);
  assert.equal(await grants.get(grantId), undefined, 'not resurrected');
  assert.equal(await grants.findRefresh(first), undefined);
  assert.equal(await store.get('session:s2'), undefined, 'the new session is ended too');
  assert.equal(await grants.ofSession('s2'), undefined);
  await store.close();
});
