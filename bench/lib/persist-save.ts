/**
 * Save throughput and event-loop stall : a real Session restored from the scene,
 * saved by `SnapshotWriter` exactly as the server does (capture = `session.exportImage()`, journal
 * rotated at capture, gzip stream, atomic write with fsync, backup copy + rotation, metadata
 * file), while a 1 ms timer and `monitorEventLoopDelay` watch the event loop (stall-probe.ts).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

import { Session, NULL_LOGGER } from '../../src/session/index.js';
import {
  ensureDataDir,
  JOURNAL_DIR,
  SNAPSHOT_FILE,
  NODE_STORE_FS,
  JournalWriter,
  SnapshotWriter,
} from '../../src/store/index.js';
import { BENCH_SERVER_VERSION } from './data-dir.js';
import type { Scene } from './scene.js';
import { StallProbe, type StallResult } from './stall-probe.js';

export interface SaveRun extends StallResult {
  saveMs: number;
  /** Uncompressed pickle bytes (the gzip trailer's ISIZE; exact below 4 GiB). */
  pickleBytes: number;
  fileBytes: number;
  /** Uncompressed MB (2^20) per second of the whole save (gzip, write, fsync, backup, metadata). */
  mbPerS: number;
  /** `session.exportImage()` alone, ms (the synchronous capture step). */
  captureMs: number;
}

const MB = 1024 * 1024;
const round1 = (v: number): number => Math.round(v * 10) / 10;

function gzipIsize(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, size - 4);
    return b.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}

export interface SaveBenchOptions {
  dir: string;
  rounds: number;
  /** MAX_BACKUPS of the writer (default 10, the server's). */
  maxBackups?: number;
}

/** The probe over `ms` of doing nothing: the machine's own jitter, the floor under every stall figure. */
export async function idleStall(ms: number): Promise<StallResult> {
  const probe = new StallProbe();
  probe.start();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return probe.stop();
}

/** Saves the scene `rounds` times into `dir`; one SaveRun per save. */
export async function runSaves(scene: Scene, opts: SaveBenchOptions): Promise<SaveRun[]> {
  await ensureDataDir(NODE_STORE_FS, opts.dir);
  const { session } = Session.fromImage(scene.image, { adminPassword: 'bench' });
  const journal = JournalWriter.open({
    dir: join(opts.dir, JOURNAL_DIR),
    follows: { kind: 'empty' },
    serverVersion: BENCH_SERVER_VERSION,
  });
  let captureMs = 0;
  const writer = new SnapshotWriter({
    dataDir: opts.dir,
    capture: () => {
      const t = performance.now();
      const image = session.exportImage();
      captureMs = performance.now() - t;
      return image;
    },
    log: NULL_LOGGER,
    serverVersion: BENCH_SERVER_VERSION,
    journal,
    maxBackups: opts.maxBackups,
  });
  const runs: SaveRun[] = [];
  const probe = new StallProbe();
  try {
    for (let r = 0; r < opts.rounds; r++) {
      globalThis.gc?.();
      // Let the GC's and the previous save's leftovers settle before the probe starts.
      await new Promise((resolve) => setTimeout(resolve, 200));
      // One small change per round: a save of unchanged content writes nothing (image-fingerprint.ts).
      session.applyMutation({ type: 'user-join', name: `bench-${r + 1}`, admin: false });
      probe.start();
      const t0 = performance.now();
      const outcome = await writer.save(`bench-${r + 1}`);
      const saveMs = performance.now() - t0;
      const stall = probe.stop();
      if (!outcome.ok) throw outcome.error;
      const pickleBytes = gzipIsize(join(opts.dir, SNAPSHOT_FILE));
      runs.push({
        ...stall,
        saveMs: Math.round(saveMs),
        pickleBytes,
        fileBytes: outcome.bytes,
        mbPerS: round1(pickleBytes / MB / (saveMs / 1000)),
        captureMs: Math.round(captureMs * 100) / 100,
      });
    }
  } finally {
    await journal.close().catch(() => undefined);
  }
  return runs;
}
