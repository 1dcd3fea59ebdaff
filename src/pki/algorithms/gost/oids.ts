// The O'zDSt and GOST R 34.10-2012 object identifiers (test/data/vectors/ozdst/README.md), apart
// from the registry's family so the sign-in page can name them without bundling node:crypto.
export const gostOid = {
  ozdstKey: '1.2.860.3.15.1.1.2.1',
  ozdstParamSetA: '1.2.860.3.15.1.1.2.1.1',
  ozdstParamSetC: '1.2.860.3.15.1.1.2.1.2',
  ozdstSignature: '1.2.860.3.15.1.1.2.2.2.2',
  ozdstHash: '1.2.860.3.15.1.3.2.1.1',
  // RFC 9215 §3.1, §3.2; RFC 6986 / RFC 7836 for the digests and parameter sets.
  gost2012Key256: '1.2.643.7.1.1.1.1',
  gost2012Key512: '1.2.643.7.1.1.1.2',
  streebog256: '1.2.643.7.1.1.2.2',
  streebog512: '1.2.643.7.1.1.2.3',
  gost2012Signature256: '1.2.643.7.1.1.3.2',
  gost2012Signature512: '1.2.643.7.1.1.3.3',
} as const;
