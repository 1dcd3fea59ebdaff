// `npm run bench -- --oidc` (issue 12, target 4): an agency app's whole OIDC sign-in, as its
// relying party and a citizen's browser make it: /authorize with PKCE (openid-client builds it
// from discovery) → 303 to the interaction → a challenge signed and posted to /login/{id} →
// the code redeemed at /token with the verifier (openid-client checks state, nonce and the ID
// token's claims). `--oidc-continue`: the single sign-on path instead — each browser signed in
// once, then /authorize → the continue page → its "continue" form → /token, without a signature.
// The agency is registered as `admin clients add` does, in the service's database before it
// starts. As in the default mode the service has core 0 and this client core 1.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { registerClient } from '../../src/oidc/clients.ts';
import { toPem } from '../../src/pki/issue/issue.ts';
import { openDatabase } from '../../src/stores/sql/database.ts';
import type { Harness, Signer } from '../bench.ts';

const redirectUri = 'https://agency.example/callback';
const unlimited = '100000000';

interface CookieJar {
  header(): string;
  keep(headers: IncomingHttpHeaders): void;
}

/** What a browser keeps for the service's origin: each cookie it sets, sent back. */
function cookieJar(): CookieJar {
  const cookies = new Map<string, string>();
  return {
    header: () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
    keep(headers) {
      for (const line of headers['set-cookie'] ?? []) {
        const [pair = ''] = line.split(';');
        const at = pair.indexOf('=');
        if (at > 0) cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1));
      }
    },
  };
}

export async function benchOidc(h: Harness, mode: 'signature' | 'continue'): Promise<void> {
  spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const pki = await h.makePki(Number(h.args.citizens));
  const dir = await mkdtemp(join(tmpdir(), 'yagona-bench-oidc-'));
  const port = 18_000 + Math.floor(Math.random() * 2000);
  const issuer = `http://127.0.0.1:${port}`;
  const db = await openDatabase(`sqlite:${join(dir, 'bench.sqlite')}`);
  const { client, clientSecret } = await registerClient(db.clients, { name: 'Bench agency', redirectUris: [redirectUri] }, new Date()).finally(() => db.close());
  const service = await h.startService(dir, port, toPem(pki.root.der, 'CERTIFICATE'), {
    env: {
      ISSUER_URL: issuer, RATE_LIMIT_AUTHORIZE_PER_MINUTE: unlimited, RATE_LIMIT_LOGIN_PER_MINUTE: unlimited,
      RATE_LIMIT_TOKEN_PER_MINUTE: unlimited, RATE_LIMIT_TOKEN_FAILURES_PER_MINUTE: unlimited,
    },
  });
  try {
    const config = await oidc.discovery(new URL(issuer), client.clientId, undefined, oidc.ClientSecretBasic(clientSecret), { execute: [oidc.allowInsecureRequests] });

    // GET /authorize → 303 to the interaction (a relative location: login/{id}).
    const authorize = async (jar: CookieJar) => {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri, scope: 'openid profile', state, nonce, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      });
      const res = await h.request(port, 'GET', `${url.pathname}${url.search}`, undefined, { cookie: jar.header() });
      jar.keep(res.headers);
      if (res.status !== 303) throw new Error(`authorize: ${res.status} ${res.text}`);
      return { interaction: new URL(res.headers.location ?? '', url).pathname, verifier, state, nonce };
    };
    const redeem = (start: Awaited<ReturnType<typeof authorize>>, callback: string) =>
      oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce, idTokenExpected: true });

    const withSignature = async (_port: number, citizen: Signer, jar = cookieJar()) => {
      const start = await authorize(jar);
      const res = await h.request(port, 'POST', start.interaction, await h.signedChallenge(port, citizen), { cookie: jar.header() });
      jar.keep(res.headers);
      if (res.status !== 200) throw new Error(`sign-in page POST: ${res.status} ${res.text}`);
      await redeem(start, (JSON.parse(res.text) as { redirectTo: string }).redirectTo);
    };

    // One browser per concurrent sign-in, each with its single sign-on session.
    const browsers: CookieJar[] = [];
    const withContinue = async () => {
      const jar = browsers.pop();
      if (jar === undefined) throw new TypeError('more concurrent sign-ins than browsers');
      try {
        const start = await authorize(jar);
        const page = await h.request(port, 'GET', start.interaction, undefined, { cookie: jar.header() });
        if (page.status !== 200 || !page.text.includes('/continue')) throw new Error(`continue page: ${page.status}`);
        const res = await h.request(port, 'POST', `${start.interaction}/continue`, '', { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', 'content-length': 0 });
        if (res.status !== 303) throw new Error(`continue: ${res.status} ${res.text}`);
        await redeem(start, res.headers.location ?? '');
      } finally {
        browsers.push(jar);
      }
    };
    if (mode === 'continue') {
      // As many as sign-ins run at once: the concurrency, and the warm-up's eight.
      for (let i = 0; i < Math.max(h.concurrency, 8); i++) {
        const jar = cookieJar();
        await withSignature(port, pki.citizens[i % pki.citizens.length] as Signer, jar);
        browsers.push(jar);
      }
    }
    const signIn = mode === 'continue' ? withContinue : withSignature;
    await h.driveLoginsFor(port, pki.citizens, 2, signIn);
    const result = await h.driveLogins(port, pki.citizens, h.seconds, signIn);
    const flow = mode === 'continue' ? 'authorize → continue page → continue → token, no signature' : 'authorize → page POST of the signed challenge → token, PKCE';
    console.log(`oidc sign-ins (${flow}): ${Math.round(result.rate * h.seconds)} in ${h.seconds}s, concurrency ${h.concurrency}, failures ${result.failures}`);
    console.log(`oidc${mode === 'continue' ? '-continue' : ''} logins/s: ${result.rate.toFixed(0)}  p50_ms: ${result.p50.toFixed(2)}  p99_ms: ${result.p99.toFixed(2)}`);
  } finally {
    service.kill('SIGTERM');
    h.agent.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
