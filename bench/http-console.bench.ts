/**
 * The admin console's cost to the session: Commit 200 B fan-out to K = 8 readers against the
 * compiled CLI (console on, default JOURNAL_FSYNC), saturated, alternately with a dashboard
 * stand-in connected (`/api/events` open, `/metrics` scraped every second;
 * bench/lib/console-watcher.ts, its own process) and with nobody on the console. Phases alternate
 * on the same server (idle, watched, watched, idle, …), so each pair shares the machine's state;
 * the figure is the median over pairs of watched / idle. Target: ≥ 0.97.
 *
 * The machine's two cores are shared by the server, the load generator and the watcher (and by
 * whatever else runs): only paired ratios mean something. The server's CPU per message is
 * reported too.
 *
 * Env: ADMIN_BENCH_K (8), ADMIN_BENCH_PAIRS (6), ADMIN_BENCH_WARMUP_MS (500),
 * ADMIN_BENCH_MEASURE_MS (3000), ADMIN_BENCH_WINDOW (500).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CLI_ADMIN_PASSWORD, killAllClis } from './lib/cli-process.js';
import { startCliRig } from './lib/cli-rig.js';
import { median, report } from './lib/harness.js';
import { LoadGenerator, type PhaseResult } from './lib/load.js';
import { FANOUT_TRAFFIC } from './lib/persist-fanout.js';
import { benchUuid, initialNodeBytes } from './lib/payloads.js';

const num = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
const k = num('ADMIN_BENCH_K', 8);
const pairs = num('ADMIN_BENCH_PAIRS', 6);
const warmupMs = num('ADMIN_BENCH_WARMUP_MS', 500);
const measureMs = num('ADMIN_BENCH_MEASURE_MS', 3000);
const window = num('ADMIN_BENCH_WINDOW', 500);

const WATCHER = join(dirname(fileURLToPath(import.meta.url)), 'lib', 'console-watcher.js');
const NODES = [{ uuid: benchUuid(1), dataBytes: initialNodeBytes(benchUuid(1)) }];

interface WatcherSummary {
  scrapes: number;
  events: number;
  failures: number;
  maxScrapeMs: number;
}

interface Watcher {
  on(): Promise<void>;
  off(): Promise<void>;
  stop(): Promise<WatcherSummary>;
}

async function startWatcher(url: string): Promise<Watcher> {
  const child = spawn(process.execPath, [WATCHER, url, CLI_ADMIN_PASSWORD], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  // Registered first: every later listener sees `out` with its chunk already in it.
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const printed = (line: string, from: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (out.slice(from).includes(`${line}\n`)) {
          child.stdout.off('data', check);
          resolve();
        }
      };
      child.stdout.on('data', check);
      void exited.then((c) => reject(new Error(`console watcher exited ${c}`)));
      check();
    });
  await printed('ready', 0);
  return {
    async on() {
      const from = out.length;
      child.kill('SIGUSR1');
      await printed('on', from);
    },
    async off() {
      const from = out.length;
      child.kill('SIGUSR2');
      await printed('off', from);
    },
    async stop() {
      const from = out.length;
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(out.slice(from).trim()) as WatcherSummary;
    },
  };
}

const round2 = (v: number): number => Math.round(v * 100) / 100;
process.on('SIGINT', () => {
  killAllClis();
  process.exit(130);
});

const rig = await startCliRig({ readers: k, nodes: NODES, journalFsync: '100' });
const idle: PhaseResult[] = [];
const watched: PhaseResult[] = [];
let summary: WatcherSummary;
try {
  const watcher = await startWatcher(`http://127.0.0.1:${rig.cli.port + 3}`);
  const load = new LoadGenerator(rig.writer, rig.readers);
  await load.sync(FANOUT_TRAFFIC);
  const cpu = async (): Promise<number> => rig.cli.cpuMicros() ?? 0;
  const measure = (): Promise<PhaseResult> =>
    load.saturate(FANOUT_TRAFFIC, { warmupMs, measureMs, window, serverCpu: cpu });
  for (let p = 0; p < pairs; p++) {
    // ABBA order: drift over the run favours neither mode.
    for (const watching of p % 2 === 0 ? [false, true] : [true, false]) {
      if (watching) await watcher.on();
      (watching ? watched : idle).push(await measure());
      if (watching) await watcher.off();
    }
  }
  summary = await watcher.stop();
} finally {
  await rig.close();
}
const rate = (r: PhaseResult): number => r.deliveredPerReaderPerS;
const cpuPerMsg = (r: PhaseResult): number => r.serverCpuUsPerMsg ?? 0;
const ratios = watched.map((w, i) => rate(w) / rate(idle[i]));
const cpuRatios = watched.map((w, i) => cpuPerMsg(w) / cpuPerMsg(idle[i]));
report({
  bench: 'admin-console',
  payload: 'commit200',
  k,
  pairs,
  idle_per_reader_msgs_s: round2(median(idle.map(rate))),
  watched_per_reader_msgs_s: round2(median(watched.map(rate))),
  ratio_watched_idle: round2(median(ratios)),
  ratio_pairs: ratios.map(round2),
  idle_server_cpu_us_per_msg: round2(median(idle.map(cpuPerMsg))),
  watched_server_cpu_us_per_msg: round2(median(watched.map(cpuPerMsg))),
  cpu_ratio_watched_idle: round2(median(cpuRatios)),
  missing: [...idle, ...watched].reduce((n, r) => n + r.missing, 0),
  watcher: summary,
  target: 'ratio_watched_idle >= 0.97',
});
