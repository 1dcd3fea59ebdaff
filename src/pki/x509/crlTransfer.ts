// A parsed CRL as plain data that crosses from a worker thread to the event loop cheaply
// (issue 11: a 100 000-entry list must not stall requests). Posting the entries Map as it is
// would make the receiving thread rebuild 100 000 objects, a quarter of a second; here the
// entries travel as a few typed arrays (transferred, not copied) and one string of serials,
// and the receiver looks a certificate up by binary search without unpacking anything.
import type { Name } from './model.ts';
import type { ParsedCrl, RevokedEntries, RevokedEntry } from './crl.ts';

interface PackedEntries {
  /** Distinct certificateIssuer names (by identity, as the parser shared them). */
  names: Name[];
  /** Canonical issuer texts; issuer g's entries are the slots groupStarts[g] … groupStarts[g + 1] - 1, serials ascending. */
  groups: string[];
  groupStarts: Uint32Array;
  /** Slot j's serial is serials.slice(serialStarts[j], serialStarts[j + 1]). */
  serials: string;
  serialStarts: Uint32Array;
  /** Slot j's certificateIssuer is names[nameOf[j]]. */
  nameOf: Uint32Array;
  revocationDates: Float64Array;
  /** NaN where the entry has no CRLReason. */
  reasons: Float64Array;
}

export interface PackedCrl extends Omit<ParsedCrl, 'entries'> {
  entries: PackedEntries;
}

/** The CRL as structured-clone data, and the buffers to transfer with it. */
export function packCrl(crl: ParsedCrl): { packed: PackedCrl; transfer: ArrayBuffer[] } {
  const all = [...crl.entries.values()];
  const names = [...new Set(all.map((entry) => entry.certificateIssuer))];
  const nameIndex = new Map(names.map((name, i) => [name, i]));
  const groups = [...new Set(names.map((name) => name.canonical))];
  const groupIndex = new Map(groups.map((canonical, i) => [canonical, i]));
  const group = (entry: RevokedEntry) => groupIndex.get(entry.certificateIssuer.canonical)!;
  all.sort((a, b) => group(a) - group(b) || compare(a.serialHex, b.serialHex));
  const groupStarts = new Uint32Array(groups.length + 1);
  const serialStarts = new Uint32Array(all.length + 1);
  const nameOf = new Uint32Array(all.length);
  const revocationDates = new Float64Array(all.length);
  const reasons = new Float64Array(all.length);
  let length = 0;
  // Every group has entries (its names come from them): its end is one past its last slot.
  all.forEach((entry, j) => {
    groupStarts[group(entry) + 1] = j + 1;
    serialStarts[j] = length;
    length += entry.serialHex.length;
    nameOf[j] = nameIndex.get(entry.certificateIssuer)!;
    revocationDates[j] = entry.revocationDate.getTime();
    reasons[j] = entry.reason ?? Number.NaN;
  });
  serialStarts[all.length] = length;
  const entries: PackedEntries = {
    names, groups, groupStarts, serials: all.map((entry) => entry.serialHex).join(''), serialStarts, nameOf, revocationDates, reasons,
  };
  const typed = [groupStarts, serialStarts, nameOf, revocationDates, reasons];
  return { packed: { ...crl, entries }, transfer: [crl.der.buffer as ArrayBuffer, ...typed.map((array) => array.buffer as ArrayBuffer)] };
}

/** The received CRL, its entries looked up in place. */
export function unpackCrl(packed: PackedCrl): ParsedCrl {
  return { ...packed, entries: packedEntries(packed.entries) };
}

function packedEntries(packed: PackedEntries): RevokedEntries {
  const groupIndex = new Map(packed.groups.map((canonical, i) => [canonical, i]));
  const serialAt = (j: number) => packed.serials.slice(packed.serialStarts[j], packed.serialStarts[j + 1]);
  const entryAt = (j: number): RevokedEntry => {
    const reason = packed.reasons[j]!;
    return {
      serialHex: serialAt(j), certificateIssuer: packed.names[packed.nameOf[j]!]!, revocationDate: new Date(packed.revocationDates[j]!),
      ...(Number.isNaN(reason) ? {} : { reason }),
    };
  };
  return {
    size: packed.nameOf.length,
    get(key) {
      // entryKey: serial hex, '@', the issuer's canonical name (hex has no '@').
      const at = key.indexOf('@');
      const g = groupIndex.get(key.slice(at + 1));
      if (at < 0 || g === undefined) return undefined;
      const serial = key.slice(0, at);
      let low = packed.groupStarts[g]!;
      let high = packed.groupStarts[g + 1]! - 1;
      while (low <= high) {
        const middle = (low + high) >>> 1;
        const order = compare(serialAt(middle), serial);
        if (order === 0) return entryAt(middle);
        if (order < 0) low = middle + 1;
        else high = middle - 1;
      }
      return undefined;
    },
    *values() {
      for (let j = 0; j < packed.nameOf.length; j++) yield entryAt(j);
    },
  };
}

// One order on both sides of the thread boundary: UTF-16 code units, as `<` compares strings.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
