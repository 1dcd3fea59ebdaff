// Keys the node:crypto families verify with: imported once per SubjectPublicKeyInfo (the
// registry caches the decoded key) after the family has checked what bounds verification cost.
import { createPublicKey, KeyObject } from 'node:crypto';
import { ServiceError } from '../../../errors.ts';

export function importSpki(spki: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new ServiceError('malformed_signature', 'public key does not decode', { cause });
  }
}

/** The KeyObject a node:crypto family stored as key material, if it is of `type`. */
export function keyObjectOf(material: unknown, type: 'rsa' | 'ec' | 'ed25519'): KeyObject | undefined {
  return material instanceof KeyObject && material.asymmetricKeyType === type ? material : undefined;
}
