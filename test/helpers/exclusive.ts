// A machine-wide lock for what test files cannot share while they run side by side (npm test
// runs several at once, and other checkouts on the same machine run theirs): the key token
// agent's fixed loopback port, which the sign-in page calls and an installed agent listens on.
// A file that needs the thing takes the lock once it is set up to use it (or a test takes it
// where it starts to) and holds it until its process exits, after its last `after` has closed
// what it opened; other files go on meanwhile.
// The lock is a directory (mkdir is atomic) naming its holder's pid, so a holder that died
// without releasing it is noticed and replaced.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

export type Resource = 'agent-port' | 'eimzo-port';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryTake(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    } catch {
      // Made but not yet named by its taker: someone is alive and holding it.
      return false;
    }
    if (alive(holder)) return false;
    rmSync(dir, { recursive: true, force: true });
    return tryTake(dir);
  }
  writeFileSync(join(dir, 'pid'), String(process.pid));
  return true;
}

/** Waits until no other process holds `resource`, then holds it until this process exits. */
export async function hold(resource: Resource): Promise<void> {
  const dir = join(tmpdir(), `yagona-test-lock-${resource}`);
  while (!tryTake(dir)) await sleep(200);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
}

/**
 * This file's tests run only while no other process holds `resource`: call it after the hooks
 * that set up what does not need it (so they run while another file holds it) and before any
 * that does. Released when the process exits.
 */
export function exclusively(resource: Resource): void {
  before(() => hold(resource));
}
