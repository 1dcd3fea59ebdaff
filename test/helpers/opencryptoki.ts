// A second real PKCS#11 module: openCryptoki's software token (Debian `opencryptoki`). It does
// what SoftHSM2 2.6 does not — it locks the user PIN after three wrong tries (COUNT_LOW, then
// FINAL_TRY, then LOCKED, as smart cards do) — so the PIN-locked path is tested against a real
// token. It runs behind its slot daemon, pkcsslotd, and keeps its token in the system store
// (/var/lib/opencryptoki/swtok), so each test run re-initialises that token (C_InitToken
// wipes it) with the factory SO PIN.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import pkcs11js from 'pkcs11js';
import { tokenObjects, type TokenObjects } from './softhsm.ts';

const C = pkcs11js;
// openCryptoki's documented initial SO PIN.
const factorySoPin = '87654321';

export function opencryptokiModule(): string {
  const found = readdirSync('/usr/lib').map((dir) => `/usr/lib/${dir}/pkcs11/libopencryptoki.so`).find((path) => existsSync(path));
  if (found === undefined) throw new Error('openCryptoki is not installed: apt-get install opencryptoki (npm test as root does it)');
  return found;
}

/** pkcsslotd among the running processes (read from /proc: no procps needed). */
function requireSlotDaemon(): void {
  const running = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).some((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pkcsslotd';
    } catch {
      return false; // the process ended while we looked
    }
  });
  if (!running) throw new Error('the openCryptoki slot daemon is not running. Start it with:\n  mkdir -p /run/opencryptoki && pkcsslotd\n(npm test as root does it)');
}

export interface OpencryptokiToken extends TokenObjects {
  module: string;
  label: string;
  pin: string;
  slot: string;
}

/** Wipes and initialises the software token with `label`, its SO PIN the factory one and the user PIN `pin`. */
export function initOpencryptokiToken(label: string, pin: string): OpencryptokiToken {
  const module = opencryptokiModule();
  requireSlotDaemon();
  const p11 = new pkcs11js.PKCS11();
  p11.load(module);
  p11.C_Initialize();
  let slot: string;
  try {
    const [handle] = p11.C_GetSlotList(true);
    if (handle === undefined) throw new Error('openCryptoki offers no token: is libpkcs11_sw.so configured in /etc/opencryptoki/opencryptoki.conf?');
    p11.C_InitToken(handle, factorySoPin, label.padEnd(32));
    const session = p11.C_OpenSession(handle, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    try {
      p11.C_Login(session, C.CKU_SO, factorySoPin);
      p11.C_InitPIN(session, pin);
      p11.C_Logout(session);
    } finally {
      p11.C_CloseSession(session);
    }
    slot = handle.readBigUInt64LE(0).toString();
  } finally {
    p11.C_Finalize();
    p11.close();
  }
  return { module, label, pin, slot, ...tokenObjects(module, label, pin) };
}
