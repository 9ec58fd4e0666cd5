/**
 * Shared fixtures of the data-tool tests: data directories written by the store itself (a
 * session, its journal and its snapshot writer, as the server runs them), damage helpers, and
 * the compiled CLI run as a child process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { encodePickle, PyDict, type PyValue } from '../../src/pickle/index.js';
import {
  decodeMutation,
  encodeMutation,
  Session,
  type Mutation,
  type SessionImage,
  NULL_LOGGER,
} from '../../src/session/index.js';
import {
  readSegmentHeader,
  JournalWriter,
  loadNewestValid,
  type RecoveryResult,
  SnapshotWriter,
} from '../../src/store/index.js';
import { collectingLogger, nodeData } from '../store/helpers.js';

export { makeTempDir } from '../store/helpers.js';

/** dist/src/cli/main.js, from dist/test/cli. */
export const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

/** The first save's local time (backup names are local time). */
export const T0 = new Date(2025, 0, 12, 14, 30, 25).getTime();

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `multiuser-server ARGS` to completion (cwd and env as given: no DATA_DIR leaks in from the test runner). */
export function runCli(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliRun {
  const res = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: options.cwd ?? dirname(MAIN),
    env: { PATH: process.env.PATH ?? '', ...options.env },
    encoding: 'utf8',
  });
  if (res.error) throw res.error;
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function dict(entries: [string, PyValue][]): PyDict {
  const d = new PyDict();
  for (const [k, v] of entries) d.setStr(k, v);
  return d;
}

export function nodeMutation(uuid: string, typeId = 'Object', deps: string[] = []): Mutation {
  return {
    type: 'node',
    uuid,
    owner: 'COMMON',
    deps,
    depsBytes: encodePickle(deps),
    dataBytes: nodeData(uuid, typeId),
  };
}

export function chatMutation(id: string, text: string): Mutation {
  return {
    type: 'chat',
    messages: [
      dict([
        ['id', id],
        ['username', 'alice'],
        ['message', text],
        ['msg_type', 'text'],
        ['metadata', new PyDict()],
        ['timestamp', Number(id)],
      ]),
    ],
  };
}

export function taskMutation(id: string, title: string): Mutation {
  const task = dict([
    ['id', id],
    ['title', title],
    ['description', ''],
    ['assigned_to', 'alice'],
    ['status', 'todo'],
    ['created_by', 'alice'],
    ['created_at', Number(id)],
    ['object_name', ''],
  ]);
  return { type: 'tasks', put: dict([[id, task]]), remove: [] };
}

/** A "server" on a data dir: a session whose every change is journaled, and its snapshot writer. */
export class DataDirRig {
  readonly session = new Session({ adminPassword: 'test' });
  readonly journal: JournalWriter;
  readonly writer: SnapshotWriter;
  clock = T0;

  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'journal'), { recursive: true });
    this.journal = JournalWriter.open({ dir: join(dir, 'journal'), follows: { kind: 'empty' }, fsync: 'off' });
    this.writer = new SnapshotWriter({
      dataDir: dir,
      capture: () => this.session.exportImage(),
      log: NULL_LOGGER,
      serverVersion: 'test',
      journal: this.journal,
      now: () => (this.clock += 1000),
    });
  }

  apply(...mutations: Mutation[]): void {
    for (const m of mutations) {
      this.journal.append(encodeMutation(m));
      this.session.applyMutation(m);
    }
  }

  async save(reason: string): Promise<void> {
    const out = await this.writer.save(reason);
    assert.ok(out.ok, out.ok ? '' : out.error.message);
  }

  async close(): Promise<void> {
    await this.journal.close();
  }
}

/** What the standard directory's next start must load. */
export const STANDARD = {
  /** Node ids after snapshot 2 + journal: obj-1 deleted, obj-j added by the journal. */
  finalNodes: ['scene-0', 'obj-2', 'obj-3', 'obj-j'],
  /** The first backup (snapshot 1). */
  firstNodes: ['scene-0', 'obj-1', 'obj-2'],
  /** The second backup = the current snapshot. */
  secondNodes: ['scene-0', 'obj-1', 'obj-2', 'obj-3'],
};

/**
 * Two saves, then three journal-only records (a crash before the next save):
 * backups/ holds snapshot 1 (3 nodes) and snapshot 2 (4 nodes); session_snapshot.pkl is snapshot 2;
 * the journal adds obj-j, deletes obj-1 and puts a task.
 */
export async function buildStandardDir(dir: string): Promise<void> {
  const rig = new DataDirRig(dir);
  rig.apply(
    nodeMutation('scene-0', 'Scene', ['obj-1', 'obj-2']),
    nodeMutation('obj-1'),
    nodeMutation('obj-2'),
    { type: 'user-join', name: 'alice', admin: true },
    { type: 'init-done' },
  );
  await rig.save('auto-save');
  rig.apply(nodeMutation('obj-3'), chatMutation('1736695945.5', 'hello'));
  await rig.save('user_disconnect:alice');
  rig.apply(nodeMutation('obj-j'), { type: 'delete', uuids: ['obj-1'] }, taskMutation('1736695999.25', 'Fix the lamp'));
  await rig.close();
}

/** A fresh STANDARD data directory under `parent` on each call (`d0`, `d1`, …). */
export function standardDirs(parent: string): () => Promise<string> {
  let n = 0;
  return async () => {
    const dir = join(parent, `d${n++}`);
    await buildStandardDir(dir);
    return dir;
  };
}

/** Backup names, oldest first. */
export function backupNames(dir: string): string[] {
  return readdirSync(join(dir, 'backups'))
    .filter((n) => n.startsWith('snapshot_'))
    .sort();
}

/** The only journal segment of a directory. */
export function onlySegment(dir: string): string {
  const names = readdirSync(join(dir, 'journal')).filter((n) => n.endsWith('.jnl'));
  assert.equal(names.length, 1, `one journal segment expected, found ${names.join(', ')}`);
  return join(dir, 'journal', names[0]);
}

/** Appends half a record to a segment: what a crash mid-write leaves. */
export function tearTail(segment: string): void {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(100, 0);
  writeFileSync(segment, Buffer.concat([header, Buffer.alloc(10, 7)]), { flag: 'a' });
}

/** Flips a byte inside the first record's payload (valid records follow it: corruption, not a torn tail). */
export async function corruptFirstRecord(segment: string): Promise<void> {
  const { headerBytes } = await readSegmentHeader(segment);
  const bytes = readFileSync(segment);
  bytes[headerBytes + 8 + 5] ^= 0xff;
  writeFileSync(segment, bytes);
}

/** Every file under `dir` with its content, for "nothing changed" assertions. */
export function treeOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
      else out.set(`${rel}${e.name}`, readFileSync(p));
    }
  };
  walk(dir, '');
  return out;
}

/**
 * What a server start does with the directory (it changes it, as the server would): recovery,
 * then the session restored from the image and the journal replayed. Returns the session's image
 * and recovery's log lines.
 */
export async function recoverAsServer(dir: string): Promise<{
  image: SessionImage;
  result: RecoveryResult;
  log: string[];
}> {
  const log = collectingLogger();
  const options = { adminPassword: 'test' };
  const result = await loadNewestValid(dir, log, { check: (image) => Session.checkImage(image, options) });
  const session =
    result.image === null
      ? new Session({ adminPassword: 'test' })
      : Session.fromImage(result.image, { adminPassword: 'test' }).session;
  for (const r of result.journal.records) session.applyMutation(decodeMutation(r));
  session.finishRecovery();
  return { image: session.exportImage(), result, log: log.lines };
}

export const uuidsOf = (image: { nodes: readonly { uuid: string }[] }): string[] => image.nodes.map((n) => n.uuid);

/**
 * The STANDARD journal (obj-j added, obj-1 deleted, a task) was moved into history/ by a tool:
 * `history` lists its three changes last.
 */
export function assertJournalInHistory(dir: string): void {
  assert.ok(
    readdirSync(join(dir, 'history')).some((f) => f.endsWith('.jnl')),
    'the journal segment is in history/',
  );
  const run = runCli(['history', '--json', '--limit', '1000', '--data-dir', dir]);
  assert.equal(run.status, 0, run.stderr);
  const listed = JSON.parse(run.stdout) as { changes: { kind: string; uuids: string[] }[]; breaks: unknown[] };
  assert.deepEqual(listed.breaks, []);
  assert.deepEqual(
    listed.changes.slice(-3).map((c) => [c.kind, c.uuids]),
    [
      ['node created', ['obj-j']],
      ['node deleted', ['obj-1']],
      ['task', []],
    ],
  );
}
