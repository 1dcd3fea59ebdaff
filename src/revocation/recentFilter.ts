// The watcher's filter (watcher.ts): a 30-bit certificate hash → when it stops mattering (whole
// seconds since the watcher's origin), in two typed arrays with open addressing and linear probing. A Map of a million
// entries was some 50 MB of heap that every full collection marked and that `prune` walked entry
// by entry, 4–16 ms on the event loop (issue 12, target 3); typed arrays live outside the heap,
// and a prune is one pass over them.
const empty = 0;

export interface RecentFilter {
  /** When `hash` stops mattering, or -1 when it is not in the filter. */
  get(hash: number): number;
  /** Keeps the later of `until` and what is there. */
  remember(hash: number, until: number): void;
  /** Drops every entry that stopped mattering before `at`. */
  prune(at: number): void;
  readonly size: number;
}

/** `initialCapacity`: a power of two. */
export function createRecentFilter(initialCapacity = 1024): RecentFilter {
  // Slots hold hash + 1, so 0 marks an empty one (hashes are below 2^30).
  let keys = new Uint32Array(initialCapacity);
  let untils = new Int32Array(initialCapacity);
  let size = 0;

  const slotOf = (table: Uint32Array, hash: number): number => {
    const mask = table.length - 1;
    let slot = (Math.imul(hash, 0x9e3779b1) >>> 0) & mask;
    while (table[slot] !== empty && table[slot] !== hash + 1) slot = (slot + 1) & mask;
    return slot;
  };

  // Into fresh arrays of `capacity` slots: what growing and pruning both do.
  const rebuild = (capacity: number, keep: (until: number) => boolean) => {
    const [oldKeys, oldUntils] = [keys, untils];
    keys = new Uint32Array(capacity);
    untils = new Int32Array(capacity);
    size = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const key = oldKeys[i] as number;
      if (key === empty || !keep(oldUntils[i] as number)) continue;
      const slot = slotOf(keys, key - 1);
      keys[slot] = key;
      untils[slot] = oldUntils[i] as number;
      size++;
    }
  };

  return {
    get(hash) {
      const slot = slotOf(keys, hash);
      return keys[slot] === empty ? -1 : (untils[slot] as number);
    },
    remember(hash, until) {
      let slot = slotOf(keys, hash);
      if (keys[slot] === empty) {
        // At most half full, so a probe ends soon.
        if ((size + 1) * 2 > keys.length) {
          rebuild(keys.length * 2, () => true);
          slot = slotOf(keys, hash);
        }
        keys[slot] = hash + 1;
        size++;
      }
      if ((untils[slot] as number) < until) untils[slot] = until;
    },
    prune(at) {
      // Fresh arrays only when something expired (every 10 s a million-entry filter would
      // otherwise trade 32 MB for 32 MB), and no larger than what is left needs.
      let left = 0;
      for (let i = 0; i < keys.length; i++) if (keys[i] !== empty && (untils[i] as number) >= at) left++;
      if (left === size) return;
      let capacity = initialCapacity;
      while (left * 2 > capacity) capacity *= 2;
      rebuild(capacity, (until) => until >= at);
    },
    get size() {
      return size;
    },
  };
}
