// The service side of origin binding (originBinding.ts): which content a CMS sign-in may have
// signed. Plain challenges keep the key-file rule of cms.ts unchanged (detached, or attached
// and equal). Framed content is accepted only attached, so its origin can be read: the origin
// must be this service's own (ISSUER_URL), else the challenge was relayed through another
// site — `challenge_invalid`, as docs/security-cases.md §E 77 has it: the challenge is spent and was
// never valid there. A frame around some other challenge is `signature_invalid`, like any
// attached content that is not ours (cms.ts).
import { ServiceError } from '../errors.ts';
import { assertContentIsChallenge, type ContentRule } from '../pki/signin/cms.ts';
import { readOriginBound } from './originBinding.ts';

export interface OriginContentRule {
  rule: ContentRule;
  /** After openCms succeeded: whether the signed content was origin-bound (to our origin). */
  originBound(): boolean;
}

/** `ownOrigin` undefined: framed content is refused, as by a service that knows no origin. */
export function originContentRule(ownOrigin: string | undefined, challenge: Uint8Array): OriginContentRule {
  let bound = false;
  return {
    rule(attached) {
      const framed = attached === undefined ? undefined : readOriginBound(attached);
      if (attached === undefined || framed === undefined) return assertContentIsChallenge(attached, challenge);
      if (ownOrigin === undefined || framed.origin !== ownOrigin) {
        // The origin is the signer's text: quoted and cut short before it reaches the answer.
        throw new ServiceError('challenge_invalid', `the challenge was signed for another origin (${JSON.stringify(framed.origin.slice(0, 120))}), not for this service`);
      }
      assertContentIsChallenge(framed.challenge, challenge);
      bound = true;
      return attached;
    },
    originBound: () => bound,
  };
}
