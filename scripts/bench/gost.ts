// `npx tsx scripts/bench/gost.ts [--json] [--seconds N]`: GOST R 34.10 verifications per second
// on one core — O'zDSt (CryptoPro-A) with a fresh key per verification and with one key, GOST
// 2012-512, the pure-TS reference path — beside node:crypto's ECDSA P-256 for scale. Each figure
// is the best of three runs: on a shared machine the best run is the least disturbed one.
// `npm run bench` prints the first and the last beside its sign-in figures (gostVerificationRates).
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import {
  cryptoProA, type GostCurve, gostKeyPair, gostSign, gostVerify, gostVerifyReference, type GostVerifyInput, tc26Gost512A,
} from '../../src/pki/algorithms/gost/index.ts';

/** Distinct keys, each with one signature over a random digest: every verification meets a key it has not just seen. */
function signedInputs(curve: GostCurve, count: number): GostVerifyInput[] {
  return Array.from({ length: count }, () => {
    const { privateKey, publicKey } = gostKeyPair(curve);
    const digest = crypto.getRandomValues(new Uint8Array(curve.size));
    return { curve, publicKey, digest, signature: gostSign({ curve, privateKey, digest }) };
  });
}

/** Best of three runs of about `seconds` each, in verifications per second; throws on a false result. */
function rate(seconds: number, verifyOne: (i: number) => boolean): number {
  let best = 0;
  for (let run = 0; run < 3; run++) {
    const start = performance.now();
    let done = 0;
    while (performance.now() - start < seconds * 1000) {
      for (let i = 0; i < 20; i++, done++) if (!verifyOne(done)) throw new Error('a valid signature did not verify');
    }
    best = Math.max(best, done / ((performance.now() - start) / 1000));
  }
  return Math.round(best);
}

/** Each figure in verifications per second, one core, best of three runs of `seconds`. */
export function gostVerificationRates(seconds: number): Record<string, number> {
  const ozdst = signedInputs(cryptoProA, 200);
  const gost512 = signedInputs(tc26Gost512A, 100);
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const challenge = Buffer.from('yagona challenge');
  const p256Signature = createSign('sha256').update(challenge).sign(p256.privateKey);
  gostVerify(ozdst[0]!); // the curve's G table is built once per process, outside the timing
  gostVerify(gost512[0]!);
  return {
    'ozdst_cryptopro_a_fresh_key': rate(seconds, (i) => gostVerify(ozdst[i % ozdst.length]!)),
    'ozdst_cryptopro_a_same_key': rate(seconds, () => gostVerify(ozdst[0]!)),
    'gost2012_512_tc26_a_fresh_key': rate(seconds, (i) => gostVerify(gost512[i % gost512.length]!)),
    'ozdst_cryptopro_a_reference_noble': rate(seconds, (i) => gostVerifyReference(ozdst[i % ozdst.length]!)),
    'node_crypto_ecdsa_p256': rate(seconds, () => createVerify('sha256').update(challenge).verify(p256.publicKey, p256Signature)),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const secondsAt = process.argv.indexOf('--seconds');
  const figures = gostVerificationRates(secondsAt > 0 ? Number(process.argv[secondsAt + 1]) : 1);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ unit: 'verifications/s, one core, best of 3', ...figures }));
  } else {
    for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(36)} ${String(value).padStart(7)} /s`);
  }
}
