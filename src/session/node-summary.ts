/**
 * What the admin console shows of the node store: counts and pickled bytes by Blender type, counts
 * by owner, and the nodes a user locks. The type and the name are read from the pickled bytes
 * without decoding them (a mesh node can hold megabytes): the add-on's dumper writes `'type_id'`
 * and `'name'` as short str keys followed by short str values, so the first such pair is taken.
 * That is a label for people, never used for a decision; a node that does not match shows null.
 */
import type { NodeStore } from './node-store.js';

export interface NodeSummary {
  readonly count: number;
  readonly bytes: number;
  readonly byType: { type: string; count: number; bytes: number }[];
  readonly byOwner: { owner: string; count: number }[];
}

export interface LockedNode {
  readonly uuid: string;
  readonly name: string | null;
  readonly type: string | null;
}

interface Labels {
  readonly type: string | null;
  readonly name: string | null;
}

const SHORT_BINUNICODE = 0x8c;
const MEMOIZE = 0x94;
/** Scanned for the labels; a bigger node is labelled from its first bytes only. */
const SCAN_BYTES = 64 * 1024;
const UNKNOWN_TYPE = 'unknown';

/** Keyed by the data bytes: a changed node gets new bytes, so entries never go stale and die with them. */
const labelCache = new WeakMap<Uint8Array, Labels>();

function keyPattern(key: string): Buffer {
  return Buffer.concat([Buffer.from([SHORT_BINUNICODE, key.length]), Buffer.from(key, 'latin1')]);
}
const TYPE_KEY = keyPattern('type_id');
const NAME_KEY = keyPattern('name');

/** The short str value right after the first short str `key` (optionally memoized), or null. */
function shortStrAfter(bytes: Buffer, key: Buffer): string | null {
  const at = bytes.indexOf(key);
  if (at < 0) return null;
  let i = at + key.length;
  if (bytes[i] === MEMOIZE) i++;
  if (bytes[i] !== SHORT_BINUNICODE || i + 1 >= bytes.length) return null;
  const len = bytes[i + 1];
  if (i + 2 + len > bytes.length) return null;
  return bytes.toString('utf8', i + 2, i + 2 + len);
}

function labelsOf(data: Uint8Array): Labels {
  let labels = labelCache.get(data);
  if (labels === undefined) {
    const view = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, SCAN_BYTES));
    labels = { type: shortStrAfter(view, TYPE_KEY), name: shortStrAfter(view, NAME_KEY) };
    labelCache.set(data, labels);
  }
  return labels;
}

/** Walks every node (cheap after the first call: labels are cached per version of a node). */
export function summarizeNodes(store: NodeStore): NodeSummary {
  const types = new Map<string, { count: number; bytes: number }>();
  const owners = new Map<string, number>();
  let bytes = 0;
  for (const node of store.values()) {
    const size = node.dataBytes.byteLength;
    bytes += size;
    const type = labelsOf(node.dataBytes).type ?? UNKNOWN_TYPE;
    const t = types.get(type);
    if (t === undefined) types.set(type, { count: 1, bytes: size });
    else {
      t.count++;
      t.bytes += size;
    }
    owners.set(node.owner, (owners.get(node.owner) ?? 0) + 1);
  }
  return {
    count: store.size,
    bytes,
    byType: [...types].map(([type, t]) => ({ type, ...t })).sort((a, b) => b.count - a.count),
    byOwner: [...owners].map(([owner, count]) => ({ owner, count })).sort((a, b) => b.count - a.count),
  };
}

/** The nodes `username` owns (locks), with their labels. */
export function lockedNodesOf(store: NodeStore, username: string): LockedNode[] {
  const out: LockedNode[] = [];
  for (const uuid of store.ownedBy(username)) {
    const node = store.get(uuid);
    if (node === undefined) continue;
    const l = labelsOf(node.dataBytes);
    out.push({ uuid, name: l.name, type: l.type });
  }
  return out;
}
