// `admin keys rotate`: a new token-signing key per algorithm becomes active; each retired one stays in the
// JWKS for a token lifetime (SESSION_TTL_SECONDS) so tokens it signed keep verifying (RFC 7517
// §5: relying parties pick the key by `kid`). Running instances switch within seconds.
import { openKeyRing } from '../keys/keyRing.ts';
import { signingKeyRetentionSeconds } from '../oidc/tokens.ts';
import { signingKeysChannel } from '../keys/keyWatch.ts';
import { systemClock } from '../clock.ts';
import { confirm, defineCommand, onRun, stateChanging, type RegisterCommand } from './command.ts';
import { causeOf, openSharedStores, withDatabase } from './environment.ts';

interface Options {
  yes?: boolean;
  operator: string;
}

export const registerKeys: RegisterCommand = (program, io) => {
  const keys = program.command('keys').description('token-signing keys');
  const rotate = defineCommand(keys, 'rotate', 'make a new signing key active for each algorithm; the old ones stay published until their tokens expire');
  onRun<Options>(stateChanging(rotate), io, async (options) => {
    await confirm(io, options, 'Rotate the token-signing keys?');
    return withDatabase(io, async (db, config) => {
      const ring = await openKeyRing({ store: db.signingKeys, clock: systemClock, secret: config.keysSecret, retainSeconds: signingKeyRetentionSeconds(config.sessionTtlSeconds) });
      const rotated = await ring.rotate();
      // ES256 signs the access tokens: its kid is the one the summary and the message name.
      const es256 = rotated.find((key) => key.alg === 'ES256');
      if (es256 === undefined) throw new TypeError('the key ring rotated no ES256 key');
      const { kid: next, retiredKid: previous } = es256;
      const retired = (await db.signingKeys.list()).find((record) => record.kid === previous);
      const publishedUntil = new Date((retired?.retiredAt ?? new Date()).getTime() + config.sessionTtlSeconds * 1000);
      const keys = rotated.map(({ alg, kid, retiredKid }) => ({ alg, kid, retiredKid: retiredKid ?? null }));
      // Instances also reread the keys every few seconds; the message only makes it immediate.
      const shared = openSharedStores(config);
      let notified = false;
      let problem: string | undefined;
      if (shared !== undefined) {
        try {
          await shared.notifier.publish(signingKeysChannel, { kid: next });
          notified = true;
        } catch (error) {
          problem = `Redis at ${shared.url}: ${causeOf(error)}`;
        } finally {
          await shared.close();
        }
      }
      await db.audit.append({
        at: new Date(), type: 'key_rotation', outcome: 'success', actor: options.operator,
        details: { kid: next, retiredKid: previous, keys, publishedUntil: publishedUntil.toISOString(), notified },
      });
      const json = { kid: next, retiredKid: previous, keys, retiredKeyPublishedUntil: publishedUntil.toISOString(), notified };
      const text = [
        ...keys.map((key) => `New ${key.alg} signing key ${key.kid} is active${key.retiredKid === null ? '' : ` (replacing ${key.retiredKid})`}.`),
        `The previous keys stay in the JWKS until ${publishedUntil.toISOString()} (their tokens' lifetime).`,
        problem === undefined ? 'Running instances switch within a few seconds.' : `Could not tell the instances (${problem}); they switch at their next reload (a few seconds).`,
      ].join('\n');
      return { json, text };
    });
  });
};
