// `npm run bench -- --sessions N` (issue 12, target 3): sign-in throughput with 10 and with N
// live sessions in Redis. Each variant has a Redis database of its own (logical databases 14
// and 15 of the bench's Redis), filled before the runs through the sessions module's own
// writes (storeSession: the record and its two certificate indexes, under the service's key
// layout), thousands of commands in flight at once on one connection, i.e. pipelined. Every
// seeded session has a certificate of its own, as a million citizens would. The seeded
// sessions are ended afterwards the way a revocation ends them, and expire in any case.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readIdentity } from '../../src/login/identity.ts';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import { createSessionEnding, storeSession, type SessionRecord } from '../../src/sessions/sessions.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import type { CertificateKey } from '../../src/stores/types.ts';
import type { Harness } from '../bench.ts';
import { alternateRounds, difference, summary } from './rounds.ts';

// Longer than the runs take, so no seeded session expires during them.
const seededTtlSeconds = 3600;
// Commands in flight per batch (three per session): enough to pipeline, little enough not to queue
// other clients of a shared Redis behind a long burst.
const inFlight = 1000;

type Seeded = CertificateKey & { sha256: string };

function databaseUrl(base: string, index: number): string {
  const url = new URL(base);
  url.pathname = `/${index}`;
  return url.toString();
}

/** `count` sessions of distinct certificates shaped like `template`; returns their certificates. */
async function seedSessions(url: string, count: number, template: SessionRecord): Promise<{ seeded: Seeded[]; perSecond: number }> {
  const store = createRedisStore(url, { commandTimeoutMs: 30_000 });
  const seeded: Seeded[] = [];
  const started = performance.now();
  try {
    for (let done = 0; done < count; done += inFlight) {
      await Promise.all(Array.from({ length: Math.min(inFlight, count - done) }, () => {
        const certificate = { issuer: template.certificatePath?.[0]?.issuer ?? '', serialHex: randomBytes(16).toString('hex').toUpperCase(), sha256: randomBytes(32).toString('hex') };
        seeded.push(certificate);
        const sid = randomBytes(18).toString('base64url');
        return storeSession(store, {
          ...template, sid, jti: randomBytes(18).toString('base64url'), certificateSha256: certificate.sha256,
          certificatePath: [certificate, ...(template.certificatePath ?? []).slice(1)],
          identity: { ...template.identity, certificate: { ...template.identity.certificate, serialNumber: certificate.serialHex, sha256: certificate.sha256 } },
        }, seededTtlSeconds);
      }));
    }
  } finally {
    await store.close();
  }
  return { seeded, perSecond: count / ((performance.now() - started) / 1000) };
}

async function endSeeded(url: string, seeded: readonly Seeded[]): Promise<void> {
  const store = createRedisStore(url, { commandTimeoutMs: 30_000 });
  const ending = createSessionEnding(store);
  try {
    for (let done = 0; done < seeded.length; done += inFlight) await Promise.all(seeded.slice(done, done + inFlight).map((certificate) => ending.endForCertificate(certificate)));
  } finally {
    await store.close();
  }
}

export async function compareSessions(h: Harness, large: number): Promise<void> {
  // As in the default mode: the service on core 0, this client on core 1.
  spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const pki = await h.makePki(Number(h.args.citizens));
  const leaf = parseCertificate(pki.citizens[0]?.certDer ?? new Uint8Array());
  const ca = parseCertificate(pki.ca.der);
  const now = Math.floor(Date.now() / 1000);
  const identity = readIdentity(leaf);
  const template: SessionRecord = {
    sid: '', jti: '', sub: `pinfl:${identity.pinfl ?? ''}`, aud: 'http://127.0.0.1', authTime: now, expiresAt: now + seededTtlSeconds,
    amr: ['pop', 'hwk'], acr: 'urn:yagona:loa:substantial', certificateSha256: '', identity,
    certificatePath: [{ issuer: leaf.issuer.canonical, serialHex: leaf.serialHex }, { issuer: ca.issuer.canonical, serialHex: ca.serialHex }],
  };
  const sizes = [10, large];
  const urls = [databaseUrl(h.args.redis, 14), databaseUrl(h.args.redis, 15)];
  const dirs = await Promise.all(sizes.map(() => mkdtemp(join(tmpdir(), 'yagona-bench-sessions-'))));
  const seeded: Seeded[][] = [];
  try {
    for (const [i, size] of sizes.entries()) {
      const result = await seedSessions(urls[i] as string, size, template);
      seeded.push(result.seeded);
      console.log(`redis ${urls[i]}: ${size} live sessions seeded (${Math.round(result.perSecond)} sessions/s, three keys each)`);
    }
    const labels = sizes.map((size) => `${size} sessions`);
    const rates = await alternateRounds(labels, 3, (i) => h.measureService(dirs[i] as string, pki, { env: { REDIS_URL: urls[i] as string } }));
    console.log(summary(labels, rates));
    console.log(difference(rates));
    console.log('(each run adds its own sign-ins\' sessions to its database, a few thousand: small beside the large variant)');
  } finally {
    h.agent.destroy();
    await Promise.all(seeded.map((list, i) => endSeeded(urls[i] as string, list)));
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}
