/**
 * The two multi-step exchanges of a client: initialising an empty session (ServerSnapshot, §4.3)
 * and joining a running one (Snapshot, §4.4), both the way the library does them.
 */
import { PyDict } from '../pickle/index.js';
import {
  SERVER_SNAPSHOT_ACCEPTED,
  SERVER_SNAPSHOT_DONE,
  SERVER_SNAPSHOT_REJECTED,
  SNAPSHOT_INIT,
  SNAPSHOT_KEY_CATALOG,
  SNAPSHOT_KEY_DATA,
  SNAPSHOT_KEY_STATE,
  SNAPSHOT_SET,
  protocolError,
  MessageType,
  type Deps,
  type Node,
  type Snapshot,
  isNodeRemovedMarker,
  nodeFromChunks,
} from '../protocol/index.js';
import type { ReplicationClient } from './replication-client.js';
import {
  encodeServerSnapshotEnd,
  encodeServerSnapshotInit,
  encodeServerSnapshotSet,
  encodeSnapshotDone,
  encodeSnapshotGet,
  encodeSnapshotRequestInit,
} from './requests.js';

/** A node to publish: the pickled data stays the caller's bytes. */
export interface NodeInput {
  uuid: string;
  owner?: string;
  deps?: Deps;
  dataBytes: Uint8Array;
}

function stateOf(data: unknown): unknown {
  return data instanceof PyDict ? data.get(SNAPSHOT_KEY_STATE) : undefined;
}

/**
 * ServerSnapshot INIT → ACCEPTED → one SET per node → END, then waits for DONE (§4.3). Resolves
 * with `'ACCEPTED'` once DONE arrived (the client is then ACTIVE), or `'REJECTED'` (back in the
 * lobby). Rejects with `NET_TIMEOUT` when a reply does not come within the step timeout.
 */
export async function initSession(
  client: ReplicationClient,
  nodes: readonly NodeInput[],
): Promise<'ACCEPTED' | 'REJECTED'> {
  const reply = client.waitForCommand(
    MessageType.ServerSnapshot,
    (m) => stateOf(m.data) === SERVER_SNAPSHOT_ACCEPTED || stateOf(m.data) === SERVER_SNAPSHOT_REJECTED,
    client.stepTimeoutMs,
    'ServerSnapshot ACCEPTED/REJECTED',
  );
  reply.catch(() => undefined); // awaited below; handled here in case the send throws first
  await client.send('command', encodeServerSnapshotInit(nodes.map((n) => n.uuid)));
  if (stateOf((await reply).data) === SERVER_SNAPSHOT_REJECTED) return SERVER_SNAPSHOT_REJECTED;

  client.state = 'syncing';
  let done: Promise<unknown> | undefined;
  for (let i = 0; i < nodes.length; i++) {
    const input = nodes[i];
    const node: Node = {
      type: MessageType.Node,
      uuid: input.uuid,
      owner: input.owner ?? 'COMMON',
      deps: input.deps ?? [],
      dataBytes: input.dataBytes,
    };
    client.store.applyNode(node);
    // DONE answers the last SET; wait for it from there (also with a mailbox that stores nothing).
    if (i === nodes.length - 1) {
      done = client.waitForCommand(
        MessageType.ServerSnapshot,
        (m) => stateOf(m.data) === SERVER_SNAPSHOT_DONE,
        client.stepTimeoutMs,
        'ServerSnapshot DONE',
      );
      done.catch(() => undefined);
    }
    await client.send('command', encodeServerSnapshotSet(node));
  }
  // The library sends END right after its last SET, without waiting for DONE (§4.3 step 5).
  await client.send('command', encodeServerSnapshotEnd());
  await done;
  client.state = 'active';
  return SERVER_SNAPSHOT_ACCEPTED;
}

export interface JoinOptions {
  /** Send REQUEST_INIT (default). False waits for the catalog the server pushes to the lobby after an init. */
  request?: boolean;
  /** GETs in flight at once. The library asks one at a time (1, default); more is for benchmarks. */
  pipeline?: number;
}

export interface JoinResult {
  /** Ids in the catalog the server sent. */
  readonly catalog: readonly string[];
  /** Nodes received. */
  readonly received: number;
  /** Ids answered with `b'removed'`. */
  readonly removed: number;
  /** Data updates that arrived during the sync and were applied after it. */
  readonly lateUpdates: number;
}

/**
 * Snapshot REQUEST_INIT → INIT with the catalog → GET per id, popped from the end of the catalog as
 * the library does → SET each → DONE (§4.4). Updates received meanwhile are applied afterwards.
 * Throws `ProtocolError` `PROTOCOL_SHAPE` for an empty catalog or a SET for another node than
 * asked (the reference client crashes or hangs on those), `NET_TIMEOUT` for a missing reply.
 */
export async function joinSession(client: ReplicationClient, options: JoinOptions = {}): Promise<JoinResult> {
  const isSnapshot = (state: string) => (m: Snapshot) => stateOf(m.data) === state;
  const init = client.waitForCommand(
    MessageType.Snapshot,
    isSnapshot(SNAPSHOT_INIT),
    client.stepTimeoutMs,
    'Snapshot INIT',
  );
  init.catch(() => undefined);
  if (options.request !== false) await client.send('command', encodeSnapshotRequestInit(client.username));
  const initMsg = await init;
  const rawCatalog = initMsg.data instanceof PyDict ? initMsg.data.get(SNAPSHOT_KEY_CATALOG) : undefined;
  if (!Array.isArray(rawCatalog) || !rawCatalog.every((id): id is string => typeof id === 'string')) {
    throw protocolError('PROTOCOL_SHAPE', 'Snapshot INIT without a list of ids as CATALOG');
  }
  if (rawCatalog.length === 0)
    throw protocolError('PROTOCOL_SHAPE', 'empty CATALOG (the reference client crashes on it)');
  const catalog = [...rawCatalog];
  client.state = 'syncing';
  client.lateUpdates.length = 0;

  const todo = [...catalog];
  const inFlight: string[] = [];
  const pipeline = Math.max(1, options.pipeline ?? 1);
  let received = 0;
  let removed = 0;
  while (todo.length > 0 || inFlight.length > 0) {
    while (inFlight.length < pipeline && todo.length > 0) {
      const id = todo.pop() as string; // popped from the end, as the library does
      inFlight.push(id);
      await client.send('command', encodeSnapshotGet(client.username, id));
    }
    const set = await client.waitForCommand(
      MessageType.Snapshot,
      isSnapshot(SNAPSHOT_SET),
      client.stepTimeoutMs,
      'Snapshot SET',
    );
    const asked = inFlight.shift() as string;
    const data = set.data instanceof PyDict ? set.data.get(SNAPSHOT_KEY_DATA) : undefined;
    if (data !== undefined && isNodeRemovedMarker(data)) {
      removed++;
      client.store.nodes.delete(asked);
      continue;
    }
    const node = nodeFromChunks(data ?? null);
    if (node.uuid !== asked) throw protocolError('PROTOCOL_SHAPE', `asked for ${asked}, got ${node.uuid}`);
    client.store.nodes.delete(node.uuid); // a snapshot node replaces ours whole, owner included
    client.store.applyNode(node);
    received++;
  }
  await client.send('command', encodeSnapshotDone(client.username));
  client.state = 'active';
  const late = client.lateUpdates.splice(0);
  for (const update of late) client.store.applyData(update);
  return { catalog, received, removed, lateUpdates: late.length };
}
