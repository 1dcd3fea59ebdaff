// The worker thread behind crlReader.ts: one CRL per thread, from its URL or from the copy
// another instance shared, through download, parse and the signature check with the issuer's
// key, handed back as plain data. Nothing here touches the event loop that serves requests.
import { setPriority } from 'node:os';
import { threadId, workerData, parentPort } from 'node:worker_threads';
import { ServiceError } from '../errors.ts';
import { loadSignatureAlgorithms } from '../login/algorithms.ts';
import { packCrl } from '../pki/x509/crlTransfer.ts';
import { parseCrl, spkiKey } from '../pki/x509/crl.ts';
import { fetchBounded } from './fetchBounded.ts';
import type { CrlJob, CrlJobResult } from './crlReader.ts';

const job = workerData as CrlJob;
// Where the CPU is short, requests go first: a background refresh lowers the priority of this
// thread alone (Linux keeps a nice value per thread; elsewhere it would lower the whole process,
// so it is left alone there). A read a sign-in waits for keeps the normal priority.
const backgroundNice = 10;
if (job.background && process.platform === 'linux') setPriority(backgroundNice);
const clock = () => performance.timeOrigin + performance.now();

async function read(): Promise<void> {
  const bytes = 'url' in job.source ? await fetchBounded(job.source) : job.source.der;
  parentPort!.postMessage('parsing');
  const startedAt = clock();
  const crl = parseCrl(bytes);
  // The same families as the service (SIGNATURE_ALGORITHMS, SIGNATURE_PLUGINS): the answer it would have computed.
  const algorithms = await loadSignatureAlgorithms(job.algorithms);
  let verified: boolean;
  try {
    verified = algorithms.check(crl.signatureAlgorithm, job.signerSpki, crl.tbs, crl.signature);
  } catch {
    verified = false;
  }
  crl.signatureChecks = new Map([[spkiKey(job.signerSpki), verified]]);
  const { packed, transfer } = packCrl(crl);
  const result: CrlJobResult = {
    ok: true, crl: packed, report: { threadId, entries: packed.entries.nameOf.length, bytes: bytes.length, startedAt, endedAt: clock() },
  };
  parentPort!.postMessage(result, transfer);
}

read().catch((error: unknown) => {
  // A refusal travels as its code and words; anything else is a programming mistake and crashes the thread (a 500).
  if (!(error instanceof ServiceError)) throw error;
  const result: CrlJobResult = { ok: false, code: error.code, message: error.message };
  parentPort!.postMessage(result);
});
