// The node flags the service is started with: package.json "start", deploy/systemd's ExecStart
// and the bench (test/deploy/runtime.test.ts checks that they agree).
//
// --initial-heap-size=512 (MiB): a sign-in allocates some 280 KiB, of which some 34 KiB outlives
// two scavenges and is promoted, so at 1300 sign-ins/s the old generation grows ~45 MB/s. V8's
// own limit, four times the ~25 MB left after a full collection, then brought a full collection
// every 1.4 s, each holding the event loop 10–25 ms while 32 sign-ins waited: most of target 1's
// p99 (issue 12). With the limit set at start, V8 keeps it: a full collection every ~9 s, of the
// same 25 MB, and p99 59–65 → 44–45 ms (docs/operations.md "Heap").
export const serviceNodeFlags = ['--initial-heap-size=512'] as const;

/** Whether this process was started with serviceNodeFlags (cluster workers inherit them). */
export const startedWithServiceFlags = (): boolean => serviceNodeFlags.every((flag) => process.execArgv.includes(flag));
