#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node --max-semi-space-size=2 --initial-old-space-size=64 --expose-gc
/*
 * The node flag caps V8's young generation at 2 MB per semi-space: the default (up to 32 MB)
 * grows during an init burst and is never given back, which alone cost ~30 MB of RSS with 50,000
 * small nodes; no measurable CPU cost on fan-out (bench/memory.bench.ts, docs/benchmarks.md).
 * The initial old-space size keeps V8 from running ~60 full collections during a 1 GB save (zlib's
 * output buffers count against a tiny heap limit): the longest event-loop stall went from 12.5 ms
 * to 9.2 ms (bench/persistence.bench.ts). --expose-gc lets the server collect and compact its heap
 * once a burst of short-lived connections is over (net/churn-tidy.ts).
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1 lets glibc's malloc ask for transparent huge pages on the
 * large blocks it maps (snapshot buffers, big node data): first-touching 1 GB of fresh memory cost
 * ~3 s of page faults in 4 KiB pages on the VMs measured, and loading a 1 GB snapshot went from
 * 8.7 s to 3.3 s; RSS is unchanged (docs/benchmarks.md). Only blocks of 2 MB and more can get huge
 * pages; on other C libraries, or kernels with huge pages off, it does nothing.
 * `npm start` and the benchmarks use the same environment and flags.
 */
/**
 * The `multiuser-server` command's entry point. `health` runs every few seconds under Docker and
 * service managers and needs only the client side of the protocol, so it loads health.ts alone
 * (a third of the CPU time of loading every command); everything else loads commands.ts.
 */
const argv = process.argv.slice(2);
const isHealthCheck = argv[0] === 'health' && !argv.includes('--help') && !argv.includes('-h');
const run: Promise<number> = isHealthCheck
  ? import('./health.js').then((m) => m.healthMain(argv.slice(1)))
  : import('./commands.js').then((m) => m.main(argv));

run.then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
