// Grant bookkeeping races that HTTP tests cannot time: a logout landing while a refresh
// or code redemption is between reading the grant and writing its successor.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { createSessionEnding, type CreatedSession, type SessionEnding } from '../../src/sessions/sessions.ts';
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
  // The real session storage, recording which sessions the grants end.
  const ended: string[] = [];
  const real = createSessionEnding(store);
  const sessions: SessionEnding = { ...real, end: async (sid) => { ended.push(sid); await real.end(sid); } };
  const grants = createGrants({ store, clock: systemClock, sessions });
  const request = { clientId: 'agency-1', redirectUri: 'https://a.example/cb', scope: ['openid'], codeChallenge: 'c'.repeat(43) };
  await grants.start(request, session('s1'), 'browser-1');
  const grantId = (await grants.ofSession('s1'))?.grantId as string;
  const first = await grants.renew((await grants.get(grantId))!, undefined);
  assert.ok(first);

  // The refresh read the grant, then a logout ended it, then the refresh writes its successor.
  const stale = (await grants.get(grantId))!;
  assert.ok(await grants.end(grantId));
  const renewed = await grants.renew(stale, session('s2'));
  assert.equal(renewed, undefined);
  assert.equal(await grants.get(grantId), undefined, 'not resurrected');
  assert.equal(await grants.findRefresh(first), undefined);
  assert.ok(ended.includes('s2'), 'the new session is ended too');
  assert.equal(await grants.ofSession('s2'), undefined);
  await store.close();
});
