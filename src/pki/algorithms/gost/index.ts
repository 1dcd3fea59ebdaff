// O'zDSt 1092 / 1106 and GOST arithmetic for the service: hashes, curves, signing and the fast
// verifier. The sign-in page imports sign.ts, the hashes and curves.ts directly instead, which
// are pure TS (this file also pulls in the WebAssembly verifier).
export { cryptoProA, cryptoProB, cryptoProC, type GostCurve, gostCurves, tc26Gost256A, tc26Gost512A, tc26Gost512B, tc26Gost512C } from './curves.ts';
export { type AffinePoint, decodePublicKey, decodeSignature, digestToScalar, encodePublicKey, encodeSignature, type GostSignatureValue } from './encoding.ts';
export { gostVerify } from './fast/verify.ts';
export { cryptoProSbox, gostR341194, type GostSbox, testSbox } from './gost94.ts';
export { gostVerifyReference } from './reference.ts';
export { type GostKeyPair, gostKeyPair, gostPublicKey, gostSign, type GostSignInput } from './sign.ts';
export { streebog, type StreebogBits } from './streebog.ts';
export type { GostVerifyInput } from './verifyInput.ts';
