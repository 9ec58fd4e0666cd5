/**
 * The client's copy of the repository, kept the way the library's client keeps it (§4.4–§4.7):
 * a Node on an existing node keeps the owner, a Commit replaces the dependency list (its delta is
 * not applied: we never compute or apply deltas on the client side), Right changes owners, Delete
 * prunes dependencies and removes the node. Only the protocol-visible parts are tracked.
 */
import { PyDict } from '../pickle/index.js';
import {
  OWNER_COMMON,
  RIGHT_KEY_OWNER,
  RIGHT_KEY_UUID,
  USER_KEY_ADMIN,
  USER_KEY_LATENCY,
  USER_KEY_METADATA,
  USER_KEY_STATUS,
  MessageType,
  type Commit,
  type Deps,
  type Node,
} from '../protocol/index.js';
import type { UserView } from './events.js';

/** A node as the client knows it. */
export interface LocalNode {
  readonly uuid: string;
  owner: string;
  deps: Deps;
  /** The latest full pickled data received (a Commit does not change it here). */
  dataBytes: Uint8Array;
  /** Commits received for this node since its data was last replaced. */
  commits: number;
}

export class LocalStore {
  readonly nodes = new Map<string, LocalNode>();

  /** Node: replace data and deps, keep the owner of an existing node (§4.5). */
  applyNode(node: Node): void {
    const existing = this.nodes.get(node.uuid);
    if (existing === undefined) {
      this.nodes.set(node.uuid, {
        uuid: node.uuid,
        owner: node.owner,
        deps: node.deps,
        dataBytes: node.dataBytes,
        commits: 0,
      });
      return;
    }
    existing.deps = node.deps;
    existing.dataBytes = node.dataBytes;
    existing.commits = 0;
  }

  /** Commit: deps replaced; unknown nodes are skipped (the reference client crashes on them, §9 item 9). */
  applyCommit(commit: Commit): boolean {
    const existing = this.nodes.get(commit.nodeId);
    if (existing === undefined) return false;
    existing.deps = commit.deps;
    existing.commits++;
    return true;
  }

  applyData(message: Node | Commit): void {
    if (message.type === MessageType.Node) this.applyNode(message);
    else this.applyCommit(message);
  }

  /** Right `{'uuid': [...], 'owner': str}`: new owner for each listed node we have. */
  applyRight(data: unknown): void {
    if (!(data instanceof PyDict)) return;
    const ids = data.get(RIGHT_KEY_UUID);
    const owner = data.get(RIGHT_KEY_OWNER);
    if (!Array.isArray(ids) || typeof owner !== 'string') return;
    for (const id of ids) {
      if (typeof id !== 'string') continue;
      const node = this.nodes.get(id);
      if (node !== undefined) node.owner = owner;
    }
  }

  /** Delete: prune the id from every dependency list, then remove the node (§4.6). */
  applyDelete(nodeId: unknown): void {
    if (typeof nodeId !== 'string' || !this.nodes.has(nodeId)) return;
    for (const node of this.nodes.values()) {
      if (node.deps !== null && node.deps.includes(nodeId)) node.deps = node.deps.filter((d) => d !== nodeId);
    }
    this.nodes.delete(nodeId);
  }

  /** Ids of nodes owned by `owner` (`'COMMON'` for the free ones). */
  ownedBy(owner: string = OWNER_COMMON): string[] {
    return [...this.nodes.values()].filter((n) => n.owner === owner).map((n) => n.uuid);
  }
}

function toNumber(v: unknown): number {
  if (typeof v === 'bigint') return Number(v);
  return typeof v === 'number' ? v : NaN;
}

/** The user list of an UpdateClientsState `data` value; entries that are not records are skipped. */
export function usersFromState(data: unknown): UserView[] {
  if (!(data instanceof PyDict)) return [];
  const users: UserView[] = [];
  for (const [name, record] of data.entries()) {
    if (typeof name !== 'string' || !(record instanceof PyDict)) continue;
    const metadata = record.get(USER_KEY_METADATA);
    users.push({
      name,
      admin: record.get(USER_KEY_ADMIN) === true,
      latencyMs: toNumber(record.get(USER_KEY_LATENCY)),
      status: toNumber(record.get(USER_KEY_STATUS)),
      metadata: metadata instanceof PyDict ? metadata : new PyDict(),
    });
  }
  return users;
}
