// Walks the whole browser journey from a terminal with a key file, until the in-browser
// sign-in page exists: agency /login → Yagona ID /authorize → /login/{id} → challenge,
// signature, POST /login/{id} → back to the agency's /callback → the agency's page.
// It keeps cookies per origin like a browser; the private key never leaves this process.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { loadKeyFile, signChallenge, type Credential } from '../../src/client/signIn.ts';

/** Returns the agency page shown after the sign-in. */
export async function signInThroughAgency(agencyUrl: string, credential: Credential): Promise<string> {
  const jars = new Map<string, Map<string, string>>();
  const go = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const jar = jars.get(new URL(url).origin) ?? new Map<string, string>();
    jars.set(new URL(url).origin, jar);
    const headers = new Headers(init.headers);
    if (jar.size > 0) headers.set('cookie', [...jar].map(([n, v]) => `${n}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [name, value] = (line.split(';')[0] ?? '').split('=');
      if (name && value !== undefined) jar.set(name.trim(), value);
    }
    return res;
  };
  const follow = async (url: string): Promise<Response> => {
    let res = await go(url);
    while (res.status >= 300 && res.status < 400) res = await go(new URL(res.headers.get('location') ?? '', url).href);
    return res;
  };
  const expectRedirect = async (res: Response) => {
    if (res.status !== 303) throw new Error(`expected a redirect, got ${res.status}: ${await res.text()}`);
    return new URL(res.headers.get('location') ?? '', res.url).href;
  };

  const authorize = await expectRedirect(await go(`${agencyUrl}/login`));
  const interaction = await expectRedirect(await go(authorize));
  const service = new URL(interaction).origin;
  const challenge = (await (await fetch(`${service}/v1/challenges`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { id: string; challenge: string };
  const signed = await go(interaction, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ challengeId: challenge.id, format: 'cms', cms: Buffer.from(signChallenge(credential, challenge.challenge)).toString('base64') }),
  });
  const body = (await signed.json()) as { redirectTo?: string; code?: string; detail?: string };
  if (body.redirectTo === undefined) throw new Error(`sign-in refused: ${body.code}: ${body.detail}`);
  return (await follow(body.redirectTo)).text();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { p12: { type: 'string' }, password: { type: 'string' }, agency: { type: 'string', default: 'http://127.0.0.1:3000' } } });
  if (values.p12 === undefined || values.password === undefined) {
    process.stderr.write('usage: npm run demo:agency:sign-in -- --p12 certs/dev/citizens/FILE.p12 --password PASSWORD [--agency URL]\n');
    process.exit(2);
  }
  const html = await signInThroughAgency(values.agency, await loadKeyFile(values.p12, values.password));
  const name = /<strong id="name">([^<]*)<\/strong>/.exec(html)?.[1];
  process.stdout.write(name === undefined ? `${html}\n` : `The agency app now shows: Signed in as ${name}\n`);
}
