// The names SIGNATURE_ALGORITHMS takes for the built-in families (families/index.ts), apart from
// the code so that configuration can check them without loading any cryptography.

export const builtInFamilyNames = ['rsa', 'rsa-pss', 'ecdsa', 'ed25519', 'ozdst', 'gost2012'] as const;

/** SIGNATURE_ALGORITHMS when unset: all built in but GOST R 34.10-2012, which no Uzbek CA uses. */
export const defaultFamilyNames: readonly string[] = ['rsa', 'rsa-pss', 'ecdsa', 'ed25519', 'ozdst'];

/** What a family's name may look like (a plug-in's too). */
export const familyNamePattern = /^[a-z][a-z0-9-]{0,31}$/;
