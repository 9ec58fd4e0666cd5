/**
 * Persistence, four parts, each measured `PERSIST_ROUNDS` times (medians reported):
 *
 * - `save`: save throughput and the longest event-loop stall while the server's SnapshotWriter
 *   saves a ~12 MB and a ~1 GB scene (bench/lib/persist-save.ts), in a child process started with
 *   the server's node flags. Target: stall ≤ 10 ms at 1 GB.
 * - `restart`: spawn of the compiled CLI on a data dir (snapshot + journal records) to
 *   `Listening`, to a client's `RUNNING` and to its first node (bench/lib/persist-restart.ts).
 *   Targets: ≤ 1 s for 5,000 nodes (the 12 MB scene), ≤ 15 s for 1 GB.
 * - `fanout`: Commit 200 B to K readers, saturated (and paced), against the CLI under
 *   JOURNAL_FSYNC off / 100 (default) / always, and without persistence (`none`), each as a ratio
 *   to `off` (bench/lib/persist-fanout.ts). Target: the default costs ≤ 10 %.
 * - `crash`: kill -9 under a stream of updates, counts of relayed / present / lost (target 0).
 * - `append`: in-process cost of one journaled change (a 200 B Commit) through the persist hook
 *   (store/journal-sink.ts) with the journal reserve allocated in the same directory, against a
 *   bare `JournalWriter.append` of the same encoded record (ratio; `PERSIST_APPEND_N` records).
 *
 * Everything runs on 127.0.0.1, in temp directories removed at the end (also on SIGINT/SIGTERM).
 *
 * Env: PERSIST_PARTS (save,restart,fanout,crash; append on request), PERSIST_APPEND_N (20000), PERSIST_ROUNDS (3), PERSIST_SCENES (12mb,1gb),
 * PERSIST_JOURNAL_RECORDS (1000), PERSIST_RESTART_TIMEOUT_MS (120000), PERSIST_FANOUT_MODES
 * (none,off,100,always), PERSIST_FANOUT_K (8), PERSIST_FANOUT_WARMUP_MS (500),
 * PERSIST_FANOUT_MEASURE_MS (2000), PERSIST_FANOUT_WINDOW (500), PERSIST_FANOUT_RATE (2000; 0 = no
 * paced phase), PERSIST_FANOUT_RATE_MS (3000), PERSIST_CRASH_FSYNC (100,always),
 * PERSIST_CRASH_UPDATES (4000), PERSIST_TMP (the OS temp dir), PERSIST_CLI_NODE_ARGS
 * (--max-semi-space-size=2: node flags of the CLI and of the save child).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CLI_NODE_ARGS, killAllClis } from './lib/cli-process.js';
import { median, report } from './lib/harness.js';
import { runCrash, type CrashRun } from './lib/persist-crash.js';
import { runFanout, type FanoutRun } from './lib/persist-fanout.js';
import { idleStall, runSaves, type SaveRun } from './lib/persist-save.js';
import { runDirOf, timeListening, timeRestart, type RestartRun } from './lib/persist-restart.js';
import { writeDataDir } from './lib/data-dir.js';
import { makeScene, SCENE_12MB, SCENE_1GB, type SceneSpec } from './lib/scene.js';
import { encodePickle } from '../src/pickle/index.js';
import { encodeMutationParts, type Mutation, NULL_LOGGER } from '../src/session/index.js';
import { JournalReserve, JournalSink, JournalWriter } from '../src/store/index.js';

const list = (name: string, dflt: string): string[] =>
  (process.env[name] ?? dflt)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
const num = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);

const parts = new Set(list('PERSIST_PARTS', 'save,restart,fanout,crash'));
const rounds = num('PERSIST_ROUNDS', 3);
const sceneNames = list('PERSIST_SCENES', '12mb,1gb');
const journalRecords = num('PERSIST_JOURNAL_RECORDS', 1000);
const restartTimeoutMs = num('PERSIST_RESTART_TIMEOUT_MS', 120_000);
const fanoutModes = list('PERSIST_FANOUT_MODES', 'none,off,100,always');
const fanout = {
  k: num('PERSIST_FANOUT_K', 8),
  warmupMs: num('PERSIST_FANOUT_WARMUP_MS', 500),
  measureMs: num('PERSIST_FANOUT_MEASURE_MS', 2000),
  window: num('PERSIST_FANOUT_WINDOW', 500),
  rate: num('PERSIST_FANOUT_RATE', 2000),
  rateMs: num('PERSIST_FANOUT_RATE_MS', 3000),
};
const crashModes = list('PERSIST_CRASH_FSYNC', '100,always');
const crashUpdates = num('PERSIST_CRASH_UPDATES', 4000);

const SCENES: Record<string, { spec: SceneSpec; stallTargetMs?: number; restartTargetMs: number }> = {
  '12mb': { spec: SCENE_12MB, restartTargetMs: 1000 },
  '1gb': { spec: SCENE_1GB, stallTargetMs: 10, restartTargetMs: 15_000 },
};

const root = mkdtempSync(join(process.env.PERSIST_TMP ?? tmpdir(), 'mus-bench-persist-'));
const cleanup = (): void => {
  killAllClis();
  rmSync(root, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    cleanup();
    process.exit(130);
  });
}

const round2 = (v: number): number => Math.round(v * 100) / 100;
const med = <T>(xs: T[], f: (x: T) => number | null | undefined): number | null => {
  const vs = xs.map(f).filter((v): v is number => typeof v === 'number');
  return vs.length === 0 ? null : round2(median(vs));
};
const MB = 1024 * 1024;

/**
 * Saves are measured in a child process started with the server's node flags (the CLI's shebang,
 * `npm start`; `PERSIST_CLI_NODE_ARGS`): V8's heap limits decide how often a save makes the
 * collector pause the loop, so the stall must be measured under the server's own settings.
 */
const inSaveChild = process.env.PERSIST_SAVE_CHILD === '1';

function saveInChild(scene: string): void {
  const res = spawnSync(process.execPath, ['--expose-gc', ...CLI_NODE_ARGS, fileURLToPath(import.meta.url)], {
    env: { ...process.env, PERSIST_SAVE_CHILD: '1', PERSIST_PARTS: 'save', PERSIST_SCENES: scene, PERSIST_TMP: root },
    stdio: 'inherit',
  });
  if (res.status !== 0) throw new Error(`save benchmark of ${scene} failed (${res.status ?? res.signal})`);
}

function sceneEntry(name: string): (typeof SCENES)[string] {
  const entry = SCENES[name];
  if (entry === undefined) throw new Error(`unknown scene ${name} (12mb, 1gb)`);
  return entry;
}

/** The save part for one scene, in this process (the child of `saveInChild`). */
async function savePart(name: string): Promise<void> {
  const entry = sceneEntry(name);
  const t0 = performance.now();
  const scene = makeScene(entry.spec);
  const generateMs = Math.round(performance.now() - t0);
  const idle = await idleStall(1000);
  const runs: SaveRun[] = await runSaves(scene, { dir: join(root, `save-${name}`), rounds });
  rmSync(join(root, `save-${name}`), { recursive: true, force: true });
  const worstStall = Math.max(...runs.map((r) => Math.max(r.timerMaxStallMs, r.eldMaxMs)));
  const stall = med(runs, (r) => Math.max(r.timerMaxStallMs, r.eldMaxMs));
  report({
    bench: 'persistence',
    part: 'save',
    scene: name,
    nodes: scene.image.nodes.length,
    node_data_mb: round2(scene.nodeBytes / MB),
    generate_ms: generateMs,
    rounds,
    pickle_mb: med(runs, (r) => r.pickleBytes / MB),
    file_mb: med(runs, (r) => r.fileBytes / MB),
    save_ms: med(runs, (r) => r.saveMs),
    mb_per_s: med(runs, (r) => r.mbPerS),
    capture_ms: med(runs, (r) => r.captureMs),
    timer_max_stall_ms: med(runs, (r) => r.timerMaxStallMs),
    eld_max_ms: med(runs, (r) => r.eldMaxMs),
    eld_p99_ms: med(runs, (r) => r.eldP99Ms),
    worst_stall_ms: worstStall,
    gc_max_ms: med(runs, (r) => r.gcMaxMs),
    gc_count: med(runs, (r) => r.gcCount),
    main_run_queue_ms: med(runs, (r) => r.mainRunQueueMs),
    process_cpu_ms: med(runs, (r) => r.processCpuMs),
    rss_peak_mb: med(runs, (r) => r.rssPeakMb),
    node_flags: process.execArgv.join(' '),
    idle_timer_max_stall_ms: idle.timerMaxStallMs,
    idle_eld_max_ms: idle.eldMaxMs,
    stall_target_ms: entry.stallTargetMs ?? null,
    stall_target_met: entry.stallTargetMs === undefined ? null : (stall ?? Infinity) <= entry.stallTargetMs,
    runs,
  });
}

/** The restart part for one scene: write its data dir, then time `rounds` starts of the CLI on copies. */
async function restartPart(name: string): Promise<void> {
  const entry = sceneEntry(name);
  const base = join(root, `restart-${name}`);
  const written = await writeDataDir(base, makeScene(entry.spec).image, journalRecords);
  globalThis.gc?.(); // the scene is garbage now: the CLI needs the memory more than we do
  const runs: RestartRun[] = [];
  for (let r = 0; r < rounds; r++) {
    runs.push(await timeRestart(base, runDirOf(root, `restart-${name}`, r), restartTimeoutMs));
  }
  rmSync(base, { recursive: true, force: true });
  const running = med(runs, (r) => r.runningMs);
  report({
    bench: 'persistence',
    part: 'restart',
    scene: name,
    nodes: written.nodes,
    journal_records: written.journalRecords,
    snapshot_mb: round2(written.snapshotBytes / MB),
    rounds,
    cli_node_flags: CLI_NODE_ARGS.join(' '),
    spawn_to_restored_ms: med(runs, (r) => r.restoredMs),
    spawn_to_listening_ms: med(runs, (r) => r.listeningMs),
    spawn_to_running_ms: running,
    spawn_to_first_node_ms: med(runs, (r) => r.firstNodeMs),
    target_ms: entry.restartTargetMs,
    target_met: running !== null && running <= entry.restartTargetMs,
    nodes_ok: runs.every((r) => r.catalog === written.nodes && r.loggedNodes === written.nodes),
    runs,
  });
}

/** The CLI on an empty data dir: the floor (node start-up, imports, bind) under every restart figure. */
async function emptyRestart(): Promise<void> {
  const base = join(root, 'restart-empty');
  mkdirSync(base, { recursive: true });
  const runs: number[] = [];
  for (let r = 0; r < rounds; r++)
    runs.push(await timeListening(base, runDirOf(root, 'restart-empty', r), restartTimeoutMs));
  report({
    bench: 'persistence',
    part: 'restart',
    scene: 'empty',
    rounds,
    spawn_to_listening_ms: med(runs, (x) => x),
    runs_listening_ms: runs,
  });
}

async function fanoutPart(): Promise<void> {
  const byMode: Record<string, FanoutRun[]> = {};
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round, so that no mode always runs first (or last) on a noisy machine.
    const order = fanoutModes.map((_, i) => fanoutModes[(i + r) % fanoutModes.length]);
    for (const mode of order) (byMode[mode] ??= []).push(await runFanout(mode, { ...fanout, tmpRoot: root }));
  }
  const rate = (run: FanoutRun): number => run.saturate.deliveredPerReaderPerS;
  /** Median over rounds of this mode / `off`, each pair from the same round. */
  const ratioToOff = (mode: string): number | null => {
    const off = byMode.off ?? [];
    const xs = (byMode[mode] ?? []).map((run, i) => (off[i] === undefined ? NaN : rate(run) / rate(off[i])));
    return med(xs, (x) => (Number.isNaN(x) ? null : x));
  };
  for (const mode of fanoutModes) {
    const runs = byMode[mode] ?? [];
    const ratio = ratioToOff(mode);
    report({
      bench: 'persistence',
      part: 'fanout',
      journal_fsync: mode,
      payload: 'commit200',
      k: fanout.k,
      window: fanout.window,
      rounds,
      per_reader_msgs_s: med(runs, rate),
      slowest_reader_msgs_s: med(runs, (x) => x.saturate.slowestReaderPerS),
      server_cpu_us_per_msg: med(runs, (x) => x.saturate.serverCpuUsPerMsg),
      server_cpu_load: med(runs, (x) => x.saturate.serverCpuLoad),
      missing: runs.reduce((n, x) => n + x.saturate.missing + (x.paced?.missing ?? 0), 0),
      out_of_order: runs.reduce((n, x) => n + x.saturate.outOfOrder + (x.paced?.outOfOrder ?? 0), 0),
      ratio_to_off: ratio,
      target_met: mode === '100' ? ratio !== null && ratio >= 0.9 : null,
      paced_rate: fanout.rate > 0 ? fanout.rate : null,
      paced_p50_ms: med(runs, (x) => x.paced?.p50Ms),
      paced_p99_ms: med(runs, (x) => x.paced?.p99Ms),
      paced_max_ms: med(runs, (x) => x.paced?.maxMs),
      runs_msgs_s: runs.map(rate),
    });
  }
}

async function crashPart(): Promise<void> {
  for (const mode of crashModes) {
    const runs: CrashRun[] = [];
    for (let r = 0; r < rounds; r++) {
      const killAfter = Math.floor(crashUpdates * (0.2 + 0.6 * Math.random()));
      runs.push(await runCrash(mode, crashUpdates, killAfter, root));
    }
    report({
      bench: 'persistence',
      part: 'crash',
      journal_fsync: mode,
      updates_per_round: crashUpdates,
      rounds,
      relayed_before_kill: runs.map((r) => r.relayedBeforeKill),
      relayed: runs.map((r) => r.relayed),
      present_after_restart: runs.map((r) => r.nodesPresent + r.commitsPresent),
      lost: runs.reduce((n, r) => n + r.lost, 0),
      target_met: runs.every((r) => r.lost === 0),
      restart_ms: med(runs, (r) => r.restartMs),
      runs,
    });
  }
}

/** µs per journaled change: the sink (encode + checks + append) vs a bare append of the encoded record. */
async function appendPart(): Promise<void> {
  const n = num('PERSIST_APPEND_N', 20_000);
  const m: Mutation = {
    type: 'commit',
    uuid: 'bench-node',
    deps: [],
    depsBytes: encodePickle([]),
    deltaBytes: Buffer.alloc(200, 7),
  };
  const sinkUs: number[] = [];
  const bareUs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const dir = mkdtempSync(join(root, 'append-'));
    const reserve = new JournalReserve({ dataDir: dir, bytes: 64 * 1024 * 1024 });
    const reserved = await reserve.allocate();
    const open = (sub: string): JournalWriter => {
      mkdirSync(join(dir, sub));
      return JournalWriter.open({ dir: join(dir, sub), follows: { kind: 'empty' }, fsync: 100 });
    };
    const bare = open('bare');
    const withSink = open('sink');
    const sink = new JournalSink({ journal: withSink, policy: 100, log: NULL_LOGGER });
    const time = (fn: () => void): number => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) fn();
      return Number(process.hrtime.bigint() - t0) / 1000 / n;
    };
    // Alternate the order each round (a noisy shared machine).
    const runBare = (): number => time(() => bare.append(encodeMutationParts(m)));
    const runSink = (): number => time(() => void sink.persist(m));
    if (r % 2 === 0) {
      bareUs.push(runBare());
      sinkUs.push(runSink());
    } else {
      sinkUs.push(runSink());
      bareUs.push(runBare());
    }
    sink.close();
    await Promise.all([bare.close(), withSink.close()]);
    if (reserved === 0) throw new Error('the journal reserve could not be allocated');
  }
  report({
    bench: 'persistence',
    part: 'append',
    records: n,
    rounds,
    reserve_bytes: 64 * 1024 * 1024,
    sink_us_per_change: med(sinkUs, (x) => x),
    bare_append_us_per_change: med(bareUs, (x) => x),
    ratio_sink_to_bare: med(
      sinkUs.map((x, i) => x / bareUs[i]),
      (x) => x,
    ),
    runs_sink_us: sinkUs,
    runs_bare_us: bareUs,
  });
}

try {
  if (inSaveChild) {
    for (const name of sceneNames) await savePart(name);
  } else {
    if (parts.has('restart')) await emptyRestart();
    for (const name of sceneNames) {
      if (parts.has('save')) saveInChild(name);
      if (parts.has('restart')) await restartPart(name);
    }
    if (parts.has('fanout')) await fanoutPart();
    if (parts.has('crash')) await crashPart();
    if (parts.has('append')) await appendPart();
  }
} finally {
  cleanup();
}
