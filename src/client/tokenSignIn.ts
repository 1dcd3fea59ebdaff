// A sign-in over the direct API with a key token, for terminals (`admin sign-in --pkcs11`): the
// same steps as client/signIn.ts, but the challenge is signed on the token through its PKCS#11
// module, framed with the origin of the service URL we talk to (login/originBinding.ts), as the
// agent frames it with the browser's Origin. No agent is involved: here we are the client.
import { originOf, bindToOrigin } from '../login/originBinding.ts';
import { TokenError, type TokenCertificate, type TokenModule } from '../token/pkcs11.ts';
import { createChallenge, createSession, getCurrentSession, type ClientOptions, type SignInOutcome } from './signIn.ts';

export interface TokenChoice {
  /** CK_SLOT_ID (decimal or 0x hex, as `pkcs11-tool -L` prints it); default: any. */
  slot?: string;
  /** CKA_ID in hex, when the token holds several signing certificates. */
  keyId?: string;
}

export async function signInWithToken(options: ClientOptions & TokenChoice & { module: TokenModule; pin: string }): Promise<SignInOutcome & { certificate: string }> {
  const certificate = chooseCertificate(options.module, options);
  const challenge = await createChallenge(options);
  const content = new TextEncoder().encode(bindToOrigin(originOf(options.url), challenge.challenge));
  const cms = await options.module.signCms({ certificateId: certificate.id, pin: options.pin, content });
  const created = await createSession(options, { challengeId: challenge.id, format: 'cms', cms: Buffer.from(cms).toString('base64') });
  const current = await getCurrentSession(options, created.accessToken);
  return { created, current, certificate: certificate.id };
}

/** The one signing certificate the choice leaves; several are listed so the user can pick. */
export function chooseCertificate(module: TokenModule, choice: TokenChoice): TokenCertificate {
  const slot = choice.slot === undefined ? undefined : slotNumber(choice.slot);
  const all = module.certificates();
  if (all.length === 0 && module.tokens().length === 0) throw new TokenError('no_token', `no key token is present (module ${module.path})`);
  const matching = all.filter((c) => (slot === undefined || c.slot === slot) && (choice.keyId === undefined || c.id.endsWith(`:${choice.keyId.toLowerCase()}`)));
  if (matching.length === 1) return matching[0]!;
  if (matching.length === 0) throw new TokenError('certificate_not_found', 'no signing certificate on the token matches --slot/--key-id');
  const list = matching.map((c) => `slot ${c.slot} key-id ${c.id.split(':')[1]} (${c.certificate.subject.text})`).join('; ');
  throw new TokenError('certificate_not_found', `several signing certificates; choose one with --slot and --key-id: ${list}`);
}

/** A slot id as pkcs11-tool prints it: decimal, or hexadecimal with 0x. */
function slotNumber(text: string): string {
  if (!/^(?:\d{1,20}|0x[0-9a-f]{1,16})$/i.test(text)) throw new TokenError('certificate_not_found', `--slot ${text} is not a slot id (decimal or 0x hex)`);
  return BigInt(text).toString();
}
