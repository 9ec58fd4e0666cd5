/**
 * Crafted session files for the "every file is input" tests: a snapshot (with the server's own
 * `'multiuser_server'` key, so it claims to be trusted) whose node data is a pickle that runs
 * `posix.system` in any client that unpickles it.
 */
import { writeFileSync } from 'node:fs';

import { encodeSnapshot, readSnapshotFile } from '../../src/store/index.js';

function shortStr(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([0x8c, b.length]), b]);
}

/**
 * `posix.system('echo pwned')` as CPython's `pickle.loads` runs it: SHORT_BINUNICODE × 2,
 * STACK_GLOBAL, the argument tuple, REDUCE, STOP (protocol 4, memoized like CPython writes it).
 */
export const EVIL_NODE_DATA: Buffer = Buffer.concat([
  Buffer.from([0x80, 0x04]),
  shortStr('posix'),
  Buffer.from([0x94]),
  shortStr('system'),
  Buffer.from([0x94, 0x93, 0x94]),
  shortStr('echo pwned'),
  Buffer.from([0x94, 0x85, 0x94, 0x52, 0x94, 0x2e]),
]);

/** Writes `dest`: the snapshot `src` with node `uuid`'s data replaced by `EVIL_NODE_DATA`, its own keys kept. */
export async function forgeSnapshot(src: string, dest: string, uuid: string): Promise<void> {
  const decoded = await readSnapshotFile(src);
  const meta = decoded.meta;
  if (meta === null) throw new Error(`${src} has no server key`);
  let found = false;
  const nodes = decoded.image.nodes.map((n) => {
    if (n.uuid !== uuid) return n;
    found = true;
    return { ...n, dataBytes: EVIL_NODE_DATA };
  });
  if (!found) throw new Error(`${src} has no node ${uuid}`);
  const parts: Buffer[] = [];
  for await (const chunk of encodeSnapshot({ ...decoded.image, nodes }, meta)) parts.push(chunk as Buffer);
  writeFileSync(dest, Buffer.concat(parts));
}
