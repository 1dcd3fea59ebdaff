// The built-in signature families, and the registry the service uses when nothing else is
// configured (SIGNATURE_ALGORITHMS' default: docs/configuration.md).
import { defaultFamilyNames } from '../familyNames.ts';
import { createSignatureAlgorithms, type SignatureAlgorithms, type SignatureFamily } from '../registry.ts';
import { ecdsaFamily, ed25519Family } from './ecdsa.ts';
import { gost2012Family, ozdstFamily } from './gost.ts';
import { rsaFamily, rsaPssFamily } from './rsa.ts';

export const builtInFamilies: readonly SignatureFamily[] = [rsaFamily, rsaPssFamily, ecdsaFamily, ed25519Family, ozdstFamily, gost2012Family];

export const defaultSignatureAlgorithms: SignatureAlgorithms = createSignatureAlgorithms({ families: builtInFamilies, enabled: defaultFamilyNames });
