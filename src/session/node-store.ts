/**
 * The session's repository: node id → owner, dependencies and the raw pickled data. The data
 * bytes are the source of truth (DESIGN §3 "Node data"): they are served to joining clients as
 * they are and decoded only when a Commit's delta must be applied to them.
 *
 * Order is insertion order, like the reference's dict: the Snapshot catalog lists ids in it
 * (§4.4), and replacing an existing node keeps its place.
 */
import { encodePickle } from '../pickle/index.js';
import {
  MessageType,
  typeFrame,
  type Deps,
  type Node,
  encodeTextFrame,
  sharedEmptyListPickle,
} from '../protocol/index.js';

export interface StoredNode {
  readonly uuid: string;
  /** `'COMMON'` or a username. */
  owner: string;
  deps: Deps;
  /** The pickled dependency list as received; `undefined` once `deps` changed (re-encoded when served). */
  depsBytes: Uint8Array | undefined;
  /** The pickled node data dict (validated plain, see data.ts). */
  dataBytes: Uint8Array;
}

/**
 * Small received frames may be views of a larger shared buffer (the transport takes small
 * bodies from Node's Buffer pool; libzmq, as a test peer's transport, uses an ~8 KB receive
 * arena), so one stored view can keep a whole pool chunk alive: 50,000 nodes of ~200 B pinned
 * ~45 MB that way (bench/memory.bench.ts). Frames that small are copied when stored (cheap);
 * bigger ones are allocated on their own and stay zero-copy.
 */
const ARENA_BYTES = 8192;

function ownCopyIfSmall(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength > ARENA_BYTES) return bytes;
  // allocUnsafe + set: the copy `Buffer.from` makes, without its dispatch on the argument's type.
  const copy = Buffer.allocUnsafe(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

export class NodeStore {
  private readonly nodes = new Map<string, StoredNode>();

  get size(): number {
    return this.nodes.size;
  }

  get(id: string): StoredNode | undefined {
    return this.nodes.get(id);
  }

  has(id: string): boolean {
    return this.nodes.has(id);
  }

  /** Every node id, in store order (the Snapshot catalog, §4.4). */
  ids(): string[] {
    return [...this.nodes.keys()];
  }

  values(): IterableIterator<StoredNode> {
    return this.nodes.values();
  }

  /**
   * Stores a node as the library's `do_commit` does (§4.5): an existing node gets the new data and
   * dependencies and **keeps its owner**; a new one is stored with `owner`. Returns whether it was new.
   */
  put(uuid: string, owner: string, deps: Deps, depsBytes: Uint8Array | undefined, dataBytes: Uint8Array): boolean {
    dataBytes = ownCopyIfSmall(dataBytes);
    // Most nodes have no dependencies: they all keep the one shared `[]` pickle.
    if (depsBytes !== undefined) depsBytes = sharedEmptyListPickle(depsBytes) ?? ownCopyIfSmall(depsBytes);
    const existing = this.nodes.get(uuid);
    if (existing !== undefined) {
      existing.deps = deps;
      existing.depsBytes = depsBytes;
      existing.dataBytes = dataBytes;
      return false;
    }
    this.nodes.set(uuid, { uuid, owner, deps, depsBytes, dataBytes });
    return true;
  }

  /** Sets the owner of every listed node that exists; returns the ids that exist. */
  setOwner(ids: readonly string[], owner: string): string[] {
    const changed: string[] = [];
    for (const id of ids) {
      const node = this.nodes.get(id);
      if (node === undefined) continue;
      node.owner = owner;
      changed.push(id);
    }
    return changed;
  }

  /** Ids of the nodes a user holds the lock of, in store order. */
  ownedBy(username: string): string[] {
    const ids: string[] = [];
    for (const node of this.nodes.values()) if (node.owner === username) ids.push(node.uuid);
    return ids;
  }

  /**
   * Removes a node after removing its id from the dependency list of every node (§4.6). Like
   * Python's `list.remove`, only the first occurrence in each list goes. Returns whether it existed.
   */
  delete(id: string): boolean {
    if (!this.nodes.has(id)) return false;
    for (const node of this.nodes.values()) {
      if (node.deps === null) continue;
      const at = node.deps.indexOf(id);
      if (at < 0) continue;
      node.deps = [...node.deps.slice(0, at), ...node.deps.slice(at + 1)];
      node.depsBytes = undefined;
    }
    this.nodes.delete(id);
    return true;
  }

  /** The node's pickled dependency list: as received, or encoded once after a Delete changed it. */
  depsBytesOf(node: StoredNode): Uint8Array {
    node.depsBytes ??= encodePickle(node.deps === null ? null : [...node.deps]);
    return node.depsBytes;
  }

  /**
   * The node as a protocol `Node` whose `raw` frames are its current state (current owner, current
   * data): what a Snapshot SET carries (§4.4). Text frames are encoded here; data is not copied.
   */
  toNode(id: string): Node | undefined {
    const node = this.nodes.get(id);
    if (node === undefined) return undefined;
    const raw = [
      typeFrame(MessageType.Node),
      encodeTextFrame(node.uuid, 1),
      encodeTextFrame(node.owner, 2),
      this.depsBytesOf(node),
      node.dataBytes,
    ];
    return {
      type: MessageType.Node,
      uuid: node.uuid,
      owner: node.owner,
      deps: node.deps,
      dataBytes: node.dataBytes,
      raw,
    };
  }
}
