/** Shared fixtures of the store tests: temp data dirs, images, a collecting logger, a failing fs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { encodePickle, PyDict, pyInt, type PyValue } from '../../src/pickle/index.js';
import type { SessionImage } from '../../src/store/session-image.js';
import { NODE_STORE_FS, type StoreFileHandle, type StoreFs } from '../../src/store/fs-port.js';
import { createFuncLogger, type Logger } from '../../src/session/index.js';

/** A fresh directory under the OS temp dir; `cleanup()` removes it (call it in `after`/`afterEach`). */
export function makeTempDir(prefix = 'store-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function dict(entries: [string, PyValue][]): PyDict {
  const d = new PyDict();
  for (const [k, v] of entries) d.setStr(k, v);
  return d;
}

/** A node data pickle the add-on could instantiate (type_id and uuid), with an optional payload. */
export function nodeData(uuid: string, typeId = 'Object', blobBytes = 0): Buffer {
  const blob = new Uint8Array(blobBytes);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 31 + uuid.length) & 0xff;
  return encodePickle(
    dict([
      ['type_id', typeId],
      ['uuid', uuid],
      ['name', `obj ${uuid}`],
      ['blob', blob],
    ]),
  );
}

/** A user record as UpdateClientsState carries it (REPLICATION-PROTOCOL §4.10). */
export function userRecord(name: string): PyDict {
  return dict([
    ['id', name],
    ['admin', false],
    ['latency', pyInt(12)],
    ['status', pyInt(2)],
    ['metadata', dict([['frame_current', pyInt(1)]])],
  ]);
}

export interface ImageSpec {
  nodes?: number;
  users?: string[];
  /** Size of the blob in node #0's data (to exercise unframed big payloads). */
  bigBlob?: number;
  chat?: number;
  tasks?: number;
  extra?: boolean;
}

/** A session image with `nodes` nodes (uuids `node-0`…; the first a Scene depending on the rest). */
export function makeImage(spec: ImageSpec = {}): SessionImage {
  const n = spec.nodes ?? 3;
  const ids = Array.from({ length: n }, (_, i) => `node-${i}`);
  const nodes = ids.map((uuid, i) => ({
    uuid,
    owner: i % 2 === 0 ? 'COMMON' : 'alice',
    depsBytes: encodePickle(i === 0 ? ids.slice(1) : []),
    dataBytes: nodeData(uuid, i === 0 ? 'Scene' : 'Object', i === 0 ? (spec.bigBlob ?? 16) : 16),
  }));
  const users = new PyDict();
  for (const u of spec.users ?? ['alice']) users.setStr(u, userRecord(u));
  const chat: PyValue[] = [];
  for (let i = 0; i < (spec.chat ?? 2); i++) {
    chat.push(
      dict([
        ['id', `${1700000000 + i}.5`],
        ['username', 'alice'],
        ['message', `hello ${i}`],
        ['timestamp', 1700000000 + i],
      ]),
    );
  }
  const tasks = new PyDict();
  for (let i = 0; i < (spec.tasks ?? 1); i++) {
    tasks.setStr(
      `t${i}`,
      dict([
        ['id', `t${i}`],
        ['title', `task ${i}`],
        ['status', 'todo'],
      ]),
    );
  }
  const image: SessionImage = { nodes, users, initialized: n > 0, chat, tasks };
  if (spec.extra === true) image.extra = dict([['rights', dict([['node-1', 'alice']])]]);
  return image;
}

/**
 * `image` as a capture of a session that changed since the last one: the same values in new
 * node byte arrays (a save of unchanged content writes nothing, image-fingerprint.ts).
 */
export function changedCopy(image: SessionImage): SessionImage {
  return { ...image, nodes: image.nodes.map((n) => ({ ...n, dataBytes: Buffer.from(n.dataBytes) })) };
}

/** A logger that keeps every line as `level: message` (children write to the same list). */
export function collectingLogger(): Logger & { lines: string[]; messages: (level?: string) => string[] } {
  const lines: string[] = [];
  const logger = createFuncLogger((level, m) => void lines.push(`${level}: ${m}`));
  return {
    ...logger,
    lines,
    messages: (level) =>
      lines.filter((l) => level === undefined || l.startsWith(`${level}: `)).map((l) => l.slice(l.indexOf(': ') + 2)),
  };
}

/** An fs operation a test can make fail: a StoreFs method, or a file-handle method as `handle.<name>`. */
export type FaultOp =
  | Exclude<keyof StoreFs, 'openSync' | 'closeSync' | 'closeFd' | 'unlinkSync'>
  | 'handle.write'
  | 'handle.sync'
  | 'handle.datasync'
  | 'handle.close'
  | 'handle.truncate';

export interface Fault {
  op: FaultOp;
  /** errno code of the simulated system error: ENOSPC, EACCES, EIO, … */
  errno: string;
  /** Only paths for which this returns true (default: all). */
  when?: (path: string) => boolean;
  /** Fail this many times, then work again (default: forever). */
  times?: number;
}

export function errnoError(errno: string, op: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${errno}: simulated failure, ${op} '${path}'`), {
    code: errno,
    errno: -1,
    syscall: op,
    path,
  });
}

/**
 * Wraps the real fs so that chosen operations fail with an errno error (disk full, permission
 * denied) — everything else really happens on disk. `calls` records `op path` of every call.
 */
export function faultyFs(
  faults: Fault[],
  base: StoreFs = NODE_STORE_FS,
): StoreFs & { calls: string[]; faults: Fault[] } {
  const calls: string[] = [];
  const fdPaths = new Map<number, string>();
  const check = (op: FaultOp, path: string): void => {
    calls.push(`${op} ${path}`);
    for (const f of faults) {
      if (f.op !== op || (f.when !== undefined && !f.when(path))) continue;
      if (f.times !== undefined) {
        if (f.times <= 0) continue;
        f.times--;
      }
      throw errnoError(f.errno, op, path);
    }
  };
  const wrapHandle = (h: StoreFileHandle, path: string): StoreFileHandle => ({
    fd: h.fd,
    write: async (b, o, l, p) => {
      check('handle.write', path);
      return h.write(b, o, l, p);
    },
    read: (b, o, l, p) => h.read(b, o, l, p),
    stat: () => h.stat(),
    sync: async () => {
      check('handle.sync', path);
      return h.sync();
    },
    datasync: async () => {
      check('handle.datasync', path);
      return h.datasync();
    },
    truncate: async (len) => {
      check('handle.truncate', path);
      return h.truncate(len);
    },
    close: async () => {
      await h.close();
      check('handle.close', path);
    },
  });
  const fsys: StoreFs = {
    open: async (path, flags, mode) => {
      check('open', path);
      return wrapHandle(await base.open(path, flags, mode), path);
    },
    rename: async (a, b) => (check('rename', b), base.rename(a, b)),
    link: async (a, b) => (check('link', b), base.link(a, b)),
    unlink: async (p) => (check('unlink', p), base.unlink(p)),
    mkdir: async (p) => (check('mkdir', p), base.mkdir(p)),
    readdir: async (p) => (check('readdir', p), base.readdir(p)),
    stat: async (p) => (check('stat', p), base.stat(p)),
    readFile: async (p) => (check('readFile', p), base.readFile(p)),
    copyFile: async (a, b) => (check('copyFile', b), base.copyFile(a, b)),
    truncate: async (p, l) => (check('truncate', p), base.truncate(p, l)),
    utimes: async (p, a, m) => (check('utimes', p), base.utimes(p, a, m)),
    statfs: (p) => base.statfs(p),
    openSync: (p, flags) => {
      calls.push(`openSync ${p}`);
      const fd = base.openSync(p, flags);
      fdPaths.set(fd, p);
      return fd;
    },
    writevSync: (fd, bufs, pos) => {
      check('writevSync', fdPaths.get(fd) ?? `fd ${fd}`);
      return base.writevSync(fd, bufs, pos);
    },
    ftruncateSync: (fd, len) => {
      check('ftruncateSync', fdPaths.get(fd) ?? `fd ${fd}`);
      base.ftruncateSync(fd, len);
    },
    closeSync: (fd) => base.closeSync(fd),
    unlinkSync: (p) => base.unlinkSync(p),
    fdatasync: async (fd) => {
      check('fdatasync', fdPaths.get(fd) ?? `fd ${fd}`);
      return base.fdatasync(fd);
    },
    closeFd: (fd) => base.closeFd(fd),
  };
  return Object.assign(fsys, { calls, faults });
}

/** Collects an async iterable of chunks into one Buffer. */
export async function collect(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}
