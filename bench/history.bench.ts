/**
 * Session history (docs/history.md), four parts, each `HISTORY_ROUNDS` times (medians reported):
 *
 * - `reconstruct`: a data dir with a checkpoint of a scene (12 MB / 5,000 nodes by default;
 *   `1gb-many` = 4,600 meshes of ~220 KB + 15,400 objects, or `1gb` = 200 meshes of ~5 MB, on
 *   request) and `HISTORY_CHANGES` (100,000) changes after it — `HISTORY_WORKLOAD` `typical`
 *   (default: runs of transform / property Commits on nodes across the scene, `typicalCommits`)
 *   or `restart` (half node updates, half 200 B Commits on one node, as the restart benchmark
 *   writes them) — then the session at the last moment rebuilt (HistoryReader: open, momentAt,
 *   reconstruct = checkpoint load + replay), wall and CPU time. Target: ≤ 10 s.
 * - `list`: `HISTORY_LIST_CHANGES` (1,000,000) small changes in 20 segments; the first page
 *   (100 changes), the page at `--since` 10 minutes before the end (segments skipped by their
 *   start time), in-process through `runHistory`, and the first page through the compiled CLI
 *   (process start included). Target: first page ≤ 1 s.
 * - `overhead`: CPU of one Commit in-process — the delta applied by the session
 *   (`applyMutation`), the record encoded and appended — with the history stamp (`'at'`, `'by'`)
 *   against without it, alternated in the same run. Target: ≤ 5 %.
 * - `bytes`: bytes on disk per change for typical Commits (a rename, a 200 B transform delta, a
 *   2 KB mesh edit) with and without the stamp.
 *
 * Env: HISTORY_PARTS (reconstruct,list,overhead,bytes), HISTORY_ROUNDS (3), HISTORY_SCENES
 * (12mb; also 1gb-many, 1gb), HISTORY_WORKLOAD (typical), HISTORY_CHANGES (100000), HISTORY_LIST_CHANGES (1000000), HISTORY_OVERHEAD_N (20000),
 * HISTORY_TMP (the OS temp dir).
 */
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { runHistory, HistoryReader } from '../src/cli/index.js';
import { encodePickle } from '../src/pickle/index.js';
import { strDict } from '../src/protocol/index.js';
import { encodeMutationParts, type Mutation, Session } from '../src/session/index.js';
import { HISTORY_DIR, JOURNAL_DIR, SNAPSHOT_FILE, JournalWriter, readMetadataFile } from '../src/store/index.js';
import { type BenchRecord, COMMIT_TARGET, writeDataDir } from './lib/data-dir.js';
import { median, report } from './lib/harness.js';
import { benchUuid, commitPayload, initialNodeBytes } from './lib/payloads.js';
import { makeScene, Rng, SCENE_12MB, SCENE_1GB, SCENE_1GB_MANY, type SceneSpec } from './lib/scene.js';

const list = (name: string, dflt: string): string[] =>
  (process.env[name] ?? dflt)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const parts = new Set(list('HISTORY_PARTS', 'reconstruct,list,overhead,bytes'));
const rounds = num('HISTORY_ROUNDS', 3);
const root = mkdtempSync(join(process.env.HISTORY_TMP ?? tmpdir(), 'mus-history-bench-'));
const MAIN = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'src', 'cli', 'main.js');
const SCENES: Record<string, SceneSpec> = { '12mb': SCENE_12MB, '1gb': SCENE_1GB, '1gb-many': SCENE_1GB_MANY };
const EMPTY_DEPS = encodePickle([]);
const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

/** `{'values_changed': {path: {'new_value': v}}}`, as the add-on's `Delta.dumps()` writes it. */
function valuesChanged(entries: [string, number][]): Buffer {
  return encodePickle(
    strDict([['values_changed', strDict(entries.map(([path, v]) => [path, strDict([['new_value', v]])]))]]),
  );
}

/**
 * Typical Commits, as artists make them: runs of 1-20 consecutive edits of one node (dragging an
 * object, tuning a slider), four runs in five moving an object (location, rotation, the matrix's
 * translation: ~330 B deltas), one in five a mesh property (material roughness, auto smooth), on
 * nodes picked at random across the scene; stamped, one a millisecond, by one of four users.
 */
function typicalCommits(spec: SceneSpec, changes: number): (i: number) => BenchRecord {
  const meshes = spec.smallMeshes + spec.bigMeshes;
  const objects = spec.nodes - meshes;
  const rng = new Rng(42);
  const users = ['alice', 'bob', 'carol', 'dave'];
  const start = Date.now() - changes;
  let left = 0;
  let uuid = '';
  let isMesh = false;
  let user = users[0];
  let deps: string[] = [];
  let depsBytes = EMPTY_DEPS;
  return (i) => {
    if (left === 0) {
      left = 1 + Math.floor(rng.next() * 20);
      isMesh = meshes > 0 && rng.next() < 0.2;
      const n = Math.floor(rng.next() * (isMesh ? meshes : objects));
      uuid = benchUuid((isMesh ? 100_000 : 200_000) + n);
      // An object's Commit carries its dependency list: its mesh (scene.ts), as it was.
      deps = !isMesh && n < meshes ? [benchUuid(100_000 + n)] : [];
      depsBytes = encodePickle(deps);
      user = users[Math.floor(rng.next() * users.length)];
    }
    left -= 1;
    const v = Math.round(rng.next() * 1e6) / 1e4;
    const deltaBytes = isMesh
      ? valuesChanged([
          ["root['materials'][0]['roughness']", v / 100],
          ["root['auto_smooth_angle']", v / 50],
        ])
      : valuesChanged([
          ["root['location'][0]", v],
          ["root['location'][1]", v + 1],
          ["root['location'][2]", v + 2],
          ["root['rotation_euler'][2]", v / 10],
          ["root['matrix_world'][0][3]", v],
          ["root['matrix_world'][1][3]", v + 1],
          ["root['matrix_world'][2][3]", v + 2],
        ]);
    return {
      mutation: { type: 'commit', uuid, deps, depsBytes, deltaBytes },
      stamp: { atMs: start + i, by: user },
    };
  };
}

/** Checkpoint = the saved snapshot, hard-linked into history/ as the server does at start. */
async function checkpointDataDir(dir: string): Promise<void> {
  const meta = await readMetadataFile(dir);
  mkdirSync(join(dir, HISTORY_DIR), { recursive: true });
  linkSync(join(dir, SNAPSHOT_FILE), join(dir, HISTORY_DIR, `${String(meta?.snapshot_id)}.pkl`));
}

async function reconstructPart(sceneName: string): Promise<void> {
  const spec = SCENES[sceneName];
  if (spec === undefined) throw new Error(`unknown scene ${sceneName}`);
  const changes = num('HISTORY_CHANGES', 100_000);
  const dir = join(root, `reconstruct-${sceneName}`);
  const t0 = process.hrtime.bigint();
  const scene = makeScene(spec);
  const workload = process.env.HISTORY_WORKLOAD ?? 'typical';
  if (workload !== 'typical' && workload !== 'restart') throw new Error('HISTORY_WORKLOAD: typical or restart');
  const written = await writeDataDir(
    dir,
    scene.image,
    changes,
    workload === 'typical' ? typicalCommits(spec, changes) : undefined,
  );
  await checkpointDataDir(dir);
  const prepareMs = ms(t0);
  const runs: {
    totalMs: number;
    cpuMs: number;
    momentMs: number;
    loadMs: number;
    replayMs: number;
    nodes: number;
    replayed: number;
  }[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    // CPU time (this process, zlib's threads included): steadier than wall time on a shared machine.
    const cpu0 = process.cpuUsage();
    const reader = await HistoryReader.open(dir, { adminPassword: 'bench' });
    const moment = await reader.momentAt(Date.now());
    const momentMs = ms(t);
    const rebuilt = await reader.reconstruct(moment);
    const cpu = process.cpuUsage(cpu0);
    runs.push({
      totalMs: ms(t),
      cpuMs: (cpu.user + cpu.system) / 1000,
      momentMs,
      loadMs: rebuilt.loadMs,
      replayMs: rebuilt.replayMs,
      nodes: rebuilt.image.nodes.length,
      replayed: rebuilt.replayed,
    });
    // Every change must apply: a refused one would make the timing meaningless.
    if (rebuilt.problems.length > 0) throw new Error(`replay problems: ${rebuilt.problems.slice(0, 3).join('; ')}`);
  }
  report({
    bench: 'history',
    part: 'reconstruct',
    scene: sceneName,
    workload,
    load_average: loadavg().map((x) => Number(x.toFixed(1))),
    snapshot_bytes: written.snapshotBytes,
    changes_since_checkpoint: changes,
    nodes: runs[0].nodes,
    replayed: runs[0].replayed,
    prepare_ms: Math.round(prepareMs),
    reconstruct_ms: Math.round(median(runs.map((x) => x.totalMs))),
    cpu_ms: Math.round(median(runs.map((x) => x.cpuMs))),
    moment_at_ms: Math.round(median(runs.map((x) => x.momentMs))),
    checkpoint_load_ms: Math.round(median(runs.map((x) => x.loadMs))),
    replay_ms: Math.round(median(runs.map((x) => x.replayMs))),
    runs_ms: runs.map((x) => Math.round(x.totalMs)),
  });
  rmSync(dir, { recursive: true, force: true });
}

async function listPart(): Promise<void> {
  const total = num('HISTORY_LIST_CHANGES', 1_000_000);
  const segments = 20;
  const dir = join(root, 'list');
  mkdirSync(join(dir, JOURNAL_DIR), { recursive: true });
  const t0 = process.hrtime.bigint();
  // One change a millisecond, ending now: the `--since -10m` page lies in the last segment.
  const start = Date.now() - total;
  let clock = start;
  const journal = JournalWriter.open({
    dir: join(dir, JOURNAL_DIR),
    follows: { kind: 'empty' },
    fsync: 'off',
    now: () => clock,
  });
  const commit = commitPayload('commit200', 200);
  const users = ['alice', 'bob', 'carol', 'dave'];
  journal.append(
    encodeMutationParts(
      {
        type: 'node',
        uuid: COMMIT_TARGET,
        owner: 'COMMON',
        deps: [],
        depsBytes: EMPTY_DEPS,
        dataBytes: initialNodeBytes(COMMIT_TARGET),
      },
      { atMs: clock, by: 'alice' },
    ),
  );
  for (let i = 1; i < total; i++) {
    if (i % Math.ceil(total / segments) === 0) journal.rotate(`seg-${String(i).padStart(9, '0')}`);
    clock = start + i;
    const m: Mutation = {
      type: 'commit',
      uuid: COMMIT_TARGET,
      deps: [],
      depsBytes: EMPTY_DEPS,
      deltaBytes: commit.encode({ seq: i, sentAt: 0, phase: 1 }),
    };
    journal.append(encodeMutationParts(m, { atMs: clock, by: users[i % users.length] }));
  }
  await journal.close();
  const prepareMs = ms(t0);
  const page = async (args: string[]): Promise<number> => {
    const t = process.hrtime.bigint();
    const code = await runHistory([...args, '--data-dir', dir], {
      env: {},
      cwd: dir,
      stdout: sink(),
      stderr: process.stderr,
    });
    if (code !== 0) throw new Error(`history ${args.join(' ')}: exit ${code}`);
    return ms(t);
  };
  const first: number[] = [];
  const since: number[] = [];
  const cli: number[] = [];
  for (let r = 0; r < rounds; r++) {
    first.push(await page(['--limit', '100']));
    since.push(await page(['--since', '-10m', '--limit', '100']));
    const t = process.hrtime.bigint();
    const res = spawnSync(process.execPath, [MAIN, 'history', '--limit', '100', '--data-dir', dir], {
      encoding: 'utf8',
    });
    if (res.status !== 0) throw new Error(`CLI history: ${res.stderr}`);
    cli.push(ms(t));
  }
  let bytes = 0;
  for (const f of readdirSync(join(dir, JOURNAL_DIR))) bytes += statSync(join(dir, JOURNAL_DIR, f)).size;
  report({
    bench: 'history',
    part: 'list',
    changes: total,
    segments,
    history_bytes: bytes,
    prepare_ms: Math.round(prepareMs),
    first_page_ms: Math.round(median(first)),
    since_10m_page_ms: Math.round(median(since)),
    cli_first_page_ms: Math.round(median(cli)),
    runs_first_ms: first.map(Math.round),
    runs_since_ms: since.map(Math.round),
    runs_cli_ms: cli.map(Math.round),
  });
  rmSync(dir, { recursive: true, force: true });
}

/** µs per Commit: applied by the session, encoded, appended — stamped vs not. */
async function overheadPart(): Promise<void> {
  const n = num('HISTORY_OVERHEAD_N', 20_000);
  const commit = commitPayload('commit200', 200);
  const plain: number[] = [];
  const stamped: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const dir = mkdtempSync(join(root, 'overhead-'));
    const run = (stamp: boolean, sub: string): number => {
      mkdirSync(join(dir, sub));
      const journal = JournalWriter.open({ dir: join(dir, sub), follows: { kind: 'empty' }, fsync: 'off' });
      const session = new Session({ adminPassword: 'bench' });
      session.applyMutation({
        type: 'node',
        uuid: COMMIT_TARGET,
        owner: 'COMMON',
        deps: [],
        depsBytes: EMPTY_DEPS,
        dataBytes: initialNodeBytes(COMMIT_TARGET),
      });
      const batch: Mutation[] = [];
      for (let i = 0; i < n; i++) {
        batch.push({
          type: 'commit',
          uuid: COMMIT_TARGET,
          deps: [],
          depsBytes: EMPTY_DEPS,
          deltaBytes: commit.encode({ seq: i, sentAt: 0, phase: 1 }),
        });
      }
      const t0 = process.hrtime.bigint();
      for (const m of batch) {
        session.applyMutation(m);
        journal.append(stamp ? encodeMutationParts(m, { atMs: Date.now(), by: 'alice' }) : encodeMutationParts(m));
      }
      const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
      void journal.close();
      return us;
    };
    if (r === 0) {
      // Warm-up (JIT) of both paths, not recorded.
      run(false, 'wp');
      run(true, 'ws');
    }
    // Alternate the order each round (a noisy shared machine).
    if (r % 2 === 0) {
      plain.push(run(false, `p${r}`));
      stamped.push(run(true, `s${r}`));
    } else {
      stamped.push(run(true, `s${r}`));
      plain.push(run(false, `p${r}`));
    }
  }
  // The stamp alone (encode with and without it, no apply, no write): what history adds per Commit.
  const encodeOnly = (stamp: boolean): number => {
    const m: Mutation = {
      type: 'commit',
      uuid: COMMIT_TARGET,
      deps: [],
      depsBytes: EMPTY_DEPS,
      deltaBytes: Buffer.alloc(200, 7),
    };
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n * 10; i++) {
      if (stamp) encodeMutationParts(m, { atMs: Date.now(), by: 'alice' });
      else encodeMutationParts(m);
    }
    return Number(process.hrtime.bigint() - t0) / 1000 / (n * 10);
  };
  const encPlain: number[] = [];
  const encStamped: number[] = [];
  for (let r = 0; r < rounds * 2 + 1; r++) {
    if (r % 2 === 0) {
      encPlain.push(encodeOnly(false));
      encStamped.push(encodeOnly(true));
    } else {
      encStamped.push(encodeOnly(true));
      encPlain.push(encodeOnly(false));
    }
  }
  report({
    bench: 'history',
    part: 'overhead',
    commits: n,
    encode_us: Number(median(encPlain).toFixed(3)),
    encode_stamped_us: Number(median(encStamped).toFixed(3)),
    stamp_added_us_per_commit: Number((median(encStamped) - median(encPlain)).toFixed(3)),
    without_history_us_per_commit: Number(median(plain).toFixed(2)),
    with_history_us_per_commit: Number(median(stamped).toFixed(2)),
    overhead_percent: Number(((median(stamped.map((s, i) => s / plain[i])) - 1) * 100).toFixed(1)),
    runs_plain_us: plain.map((x) => Number(x.toFixed(2))),
    runs_stamped_us: stamped.map((x) => Number(x.toFixed(2))),
  });
}

function bytesPart(): void {
  const delta = (entries: [string, unknown][]): Buffer =>
    encodePickle(
      strDict([['values_changed', strDict(entries.map(([k, v]) => [k, strDict([['new_value', v as never]])]))]]),
    );
  const cases: [string, Buffer][] = [
    ['rename', delta([["root['name']", 'Cube.001']])],
    [
      'transform',
      delta([
        ["root['location']", [1.5, 2.25, -0.5]],
        ["root['rotation_euler']", [0.1, 0.2, 0.3]],
        ["root['scale']", [1.0, 1.0, 2.0]],
      ]),
    ],
    ['mesh-edit-2kb', delta([["root['vertices']", Buffer.alloc(2048, 3)]])],
  ];
  const rows = cases.map(([name, deltaBytes]) => {
    const m: Mutation = { type: 'commit', uuid: COMMIT_TARGET, deps: [], depsBytes: EMPTY_DEPS, deltaBytes };
    const size = (parts: Buffer[]): number => 8 + parts.reduce((a, p) => a + p.length, 0);
    const plainBytes = size(encodeMutationParts(m));
    const stampedBytes = size(encodeMutationParts(m, { atMs: Date.now(), by: 'alice.artist' }));
    return { commit: name, delta_bytes: deltaBytes.length, record_bytes: plainBytes, with_stamp_bytes: stampedBytes };
  });
  report({ bench: 'history', part: 'bytes', per_change: rows });
}

if (parts.has('bytes')) bytesPart();
if (parts.has('overhead')) await overheadPart();
if (parts.has('list')) await listPart();
if (parts.has('reconstruct')) for (const s of list('HISTORY_SCENES', '12mb')) await reconstructPart(s);
