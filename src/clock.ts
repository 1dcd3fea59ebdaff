// Every validity check takes an explicit time; production uses the system clock, tests a fixed one.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export function fixedClock(at: Date): Clock & { set(at: Date): void; advanceSeconds(s: number): void } {
  let current = new Date(at);
  return {
    now: () => new Date(current),
    set: (next) => { current = new Date(next); },
    advanceSeconds: (s) => { current = new Date(current.getTime() + s * 1000); },
  };
}
