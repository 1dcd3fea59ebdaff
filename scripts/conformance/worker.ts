// A conformance worker: runs the cases it is sent, one at a time, and answers each.
import { parentPort } from 'node:worker_threads';
import { type Case, runCase } from './cases.ts';

parentPort!.on('message', (c: Case) => {
  parentPort!.postMessage(runCase(c));
});
// Loaded: the runner starts timing cases from here.
parentPort!.postMessage('ready');
