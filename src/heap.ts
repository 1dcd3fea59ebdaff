// The node flags the service is started with: package.json "start", deploy/systemd's ExecStart
// and the bench (test/deploy/runtime.test.ts checks that they agree).
//
// --initial-heap-size=512 (MiB): part of what a sign-in allocates outlives two scavenges and is
// promoted (34 KiB at first, 13 KiB since src/http/server.ts), so under load the old generation
// grows tens of MB a second. V8's own limit, four times the ~25 MB left after a full collection,
// brought a full collection every few seconds, each holding the event loop 10–25 ms while 32
// sign-ins waited: most of target 1's p99 (issue 12). With the limit set at start, V8 keeps it,
// and a full collection of the same 25 MB comes far less often. Alternating 20 s runs of
// `npm run bench -- --quick`, p99 ms without → with: 59–65 → 44–45 at first, 47–55 → 31–45 since
// (docs/operations.md "Heap").
export const serviceNodeFlags = ['--initial-heap-size=512'] as const;

/** Whether this process was started with serviceNodeFlags (cluster workers inherit them). */
export const startedWithServiceFlags = (): boolean => serviceNodeFlags.every((flag) => process.execArgv.includes(flag));
