/**
 * Data directories for the restart benchmark, written with the store itself (so they are exactly
 * what a server leaves behind): a snapshot of a scene saved by `SnapshotWriter` (with its backup
 * and metadata file, the journal rotated at capture), then journal records appended after it —
 * node updates and Commits, replayed through the session at startup — the state a server is in
 * after running for a while since its last save and then being killed.
 *
 * `cloneDataDir` makes a fresh copy for each start (recovery moves, cuts and rotates files):
 * `.pkl` files are hard links (the server only ever replaces them by rename, never writes into
 * them), everything else is copied.
 */
import { copyFileSync, linkSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { encodePickle } from '../../src/pickle/index.js';
import { strDict } from '../../src/protocol/index.js';
import { encodeMutationParts, type Mutation, type SessionImage, NULL_LOGGER } from '../../src/session/index.js';
import { ensureDataDir, JOURNAL_DIR, NODE_STORE_FS, JournalWriter, SnapshotWriter } from '../../src/store/index.js';
import { benchUuid, commitPayload, initialNodeBytes } from './payloads.js';

export const BENCH_SERVER_VERSION = 'bench';
/** The node the journal's Commits change (shaped like `initialNodeBytes`, as `commitPayload` needs). */
export const COMMIT_TARGET = benchUuid(1);

export interface WrittenDataDir {
  /** Nodes the restored session must hold (the scene's plus the Commit target). */
  nodes: number;
  journalRecords: number;
  snapshotBytes: number;
}

const EMPTY_DEPS = encodePickle([]);

/** One journal record to append (`stamp`: the history stamp it carries, if any). */
export interface BenchRecord {
  mutation: Mutation;
  stamp?: { atMs: number; by: string };
}

/**
 * Saves `image` (plus the Commit target node) into `dir` and appends `journalRecords` records
 * after the snapshot: by default half node updates of existing nodes (new data bytes), half 200 B
 * Commits; `record(i)` gives other ones instead.
 */
export async function writeDataDir(
  dir: string,
  image: SessionImage,
  journalRecords: number,
  record?: (i: number) => BenchRecord,
): Promise<WrittenDataDir> {
  await ensureDataDir(NODE_STORE_FS, dir);
  const full: SessionImage = {
    ...image,
    nodes: [
      ...image.nodes,
      { uuid: COMMIT_TARGET, owner: 'COMMON', depsBytes: EMPTY_DEPS, dataBytes: initialNodeBytes(COMMIT_TARGET) },
    ],
  };
  const journal = JournalWriter.open({
    dir: join(dir, JOURNAL_DIR),
    follows: { kind: 'empty' },
    fsync: 'off',
    serverVersion: BENCH_SERVER_VERSION,
  });
  const writer = new SnapshotWriter({
    dataDir: dir,
    capture: () => full,
    log: NULL_LOGGER,
    serverVersion: BENCH_SERVER_VERSION,
    journal,
  });
  const saved = await writer.save('bench');
  if (!saved.ok) throw saved.error;

  const commit = commitPayload('commit200', 200);
  const objects = image.nodes.filter((n) => n.dataBytes.length < 4096);
  for (let i = 0; i < journalRecords; i++) {
    if (record !== undefined) {
      const r = record(i);
      journal.append(encodeMutationParts(r.mutation, r.stamp));
      continue;
    }
    let m: Mutation;
    if (i % 2 === 0 && objects.length > 0) {
      const target = objects[(i * 7919) % objects.length];
      m = {
        type: 'node',
        uuid: target.uuid,
        owner: 'COMMON',
        deps: [],
        depsBytes: EMPTY_DEPS,
        dataBytes: encodePickle(
          strDict([
            ['type_id', 'Object'],
            ['uuid', target.uuid],
            ['name', `Edited.${i}`],
            ['location', [i * 0.5, 1.0, 2.0]],
            ['scale', [1.0, 1.0, 1.0]],
          ]),
        ),
      };
    } else {
      m = {
        type: 'commit',
        uuid: COMMIT_TARGET,
        deps: [],
        depsBytes: EMPTY_DEPS,
        deltaBytes: commit.encode({ seq: i, sentAt: 0, phase: 1 }),
      };
    }
    journal.append(encodeMutationParts(m));
  }
  await journal.close();
  return { nodes: full.nodes.length, journalRecords, snapshotBytes: saved.bytes };
}

/** A copy of `src` at `dst` for one start: `.pkl` files hard-linked, the rest copied. */
export function cloneDataDir(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const e of readdirSync(src, { withFileTypes: true })) {
    const from = join(src, e.name);
    const to = join(dst, e.name);
    if (e.isDirectory()) cloneDataDir(from, to);
    else if (e.name.endsWith('.pkl')) linkSync(from, to);
    else copyFileSync(from, to);
  }
}
