// The MAC key of a PKCS #12 file (RFC 7292 Appendix B.2, ID = 3): an iterated hash that
// WebCrypto does not offer, so it runs here in pure TS (@noble/hashes). pkijs runs the same
// loop in one go, which froze the sign-in page for seconds on a file with 2 000 000
// iterations; this one hands the page back between slices of iterations, and the caller caps
// the count first (open.ts).
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';

export type MacHash = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

// u (output) and v (block) sizes in bytes, RFC 7292 Appendix B.2.
const hashes: Record<MacHash, { run: (data: Uint8Array) => Uint8Array; u: number; v: number }> = {
  'SHA-1': { run: sha1, u: 20, v: 64 },
  'SHA-256': { run: sha256, u: 32, v: 64 },
  'SHA-384': { run: sha384, u: 48, v: 128 },
  'SHA-512': { run: sha512, u: 64, v: 128 },
};

/**
 * Iterations per slice: a few milliseconds of hashing on a slow phone, so a click or a
 * keystroke waits no longer than that while a key file opens.
 */
export const iterationsPerSlice = 2048;

/**
 * The MAC key, as long as the hash output (OpenSSL's PKCS12_gen_mac): one block of the KDF,
 * A = H^iterations(D ‖ I). The password is the BMPString of RFC 7292 Appendix B.1, with its
 * two zero bytes; characters beyond the BMP go as UTF-16 surrogate pairs, as OpenSSL writes them.
 */
export async function pkcs12MacKey(hash: MacHash, password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const { run, v } = hashes[hash];
  const bmp = new Uint8Array(password.length * 2 + 2);
  for (let i = 0; i < password.length; i += 1) {
    const unit = password.charCodeAt(i);
    bmp[i * 2] = unit >> 8;
    bmp[i * 2 + 1] = unit & 0xff;
  }
  const stretch = (bytes: Uint8Array) => {
    const out = new Uint8Array(v * Math.ceil(bytes.length / v));
    for (let i = 0; i < out.length; i += 1) out[i] = bytes[i % bytes.length] as number;
    return out;
  };
  // D: v bytes of the ID (3, "MAC key"); I = S ‖ P, each repeated to a multiple of v.
  const S = stretch(salt);
  const P = stretch(bmp);
  let A: Uint8Array = new Uint8Array(v + S.length + P.length);
  A.fill(3, 0, v);
  A.set(S, v);
  A.set(P, v + S.length);
  for (let done = 0; done < iterations; done += 1) {
    if (done > 0 && done % iterationsPerSlice === 0) await yieldToPage();
    A = run(A);
  }
  return A;
}

/**
 * Lets the page run whatever waits (input, rendering) before the next slice. A message to
 * ourselves, not setTimeout, which browsers clamp to 4 ms once nested.
 */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(undefined);
  });
}
