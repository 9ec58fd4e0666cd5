/**
 * The ceiling for our server: the same three ROUTER sockets doing the least a relay can do, with
 * the socket options that matter for throughput (HWMs 1000, LINGER 0, `sendTimeout: 0`, 2 MB
 * kernel send buffer on data) and no decoding at all — zeromq.js in its fastest form:
 * - data: every message is forwarded, frames untouched, to every other identity that has sent
 *   anything on the command socket (a ROUTER without `mandatory`, as the reference's);
 * - command: Auth → a pre-encoded `RUNNING`; Snapshot REQUEST_INIT → a pre-encoded catalog;
 *   Snapshot GET → the node's pre-encoded SET, found in a Map by the UUID in the request bytes;
 *   ServerSnapshot INIT → `ACCEPTED` (the UUIDs in it counted), its SETs received and dropped,
 *   `DONE` after the last one (the transport's share of an init, init.bench.ts);
 * - heartbeat: read and ignored (our benchmark clients run without a heartbeat against it).
 * No auth, no store, no queues, no bounds: not a server anyone should run.
 */
import { Router } from 'zeromq';

import {
  MessageType,
  typeFrame,
  type Node,
  encodeAuthReply,
  encodeServerSnapshotReply,
  encodeSnapshotInit,
  encodeSnapshotSet,
} from '../../src/protocol/index.js';

export interface BareNode {
  uuid: string;
  dataBytes: Uint8Array;
}

export interface BareServer {
  close(): void;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const UUIDS = new RegExp(UUID.source, 'g');

/** Binds P, P+1, P+2 on 127.0.0.1 and serves until `close`. Rejects when a port is taken. */
export async function startBareServer(port: number, nodes: readonly BareNode[]): Promise<BareServer> {
  // `sendTimeout: 0` as our server's routers had: a send never waits inside libzmq (without it
  // zeromq.js may park a send until the pipe has room, which made this baseline slower than the
  // binding's fastest form). A full pipe then drops the message, as a non-mandatory ROUTER does.
  const command = new Router({ linger: 0, sendTimeout: 0 });
  const data = new Router({ linger: 0, sendTimeout: 0, sendBufferSize: 2_000_000 });
  const heartbeat = new Router({ linger: 0, sendTimeout: 0 });
  try {
    await command.bind(`tcp://127.0.0.1:${port}`);
    await data.bind(`tcp://127.0.0.1:${port + 1}`);
    await heartbeat.bind(`tcp://127.0.0.1:${port + 2}`);
  } catch (err) {
    for (const s of [command, data, heartbeat]) s.close();
    throw err;
  }
  const peers = new Map<string, Buffer>();
  const auth = typeFrame(MessageType.Auth);
  const serverSnapshot = typeFrame(MessageType.ServerSnapshot);
  const accepted = encodeServerSnapshotReply('ACCEPTED');
  const done = encodeServerSnapshotReply('DONE');
  let initSetsLeft = 0;
  const running = encodeAuthReply('RUNNING');
  const catalog = nodes.length > 0 ? encodeSnapshotInit(nodes.map((n) => n.uuid)) : null;
  const sets = new Map<string, Buffer[]>();
  for (const n of nodes) {
    const node: Node = { type: MessageType.Node, uuid: n.uuid, owner: 'COMMON', deps: [], dataBytes: n.dataBytes };
    sets.set(n.uuid, encodeSnapshotSet(node));
  }

  void (async () => {
    for await (const [id, type, , body] of command) {
      peers.set(id.toString('hex'), id);
      let reply: Buffer[] | null | undefined = null;
      if (type.equals(auth)) reply = running;
      else if (type.equals(serverSnapshot) && body !== undefined) {
        const text = body.toString('latin1');
        if (initSetsLeft === 0 && text.includes('INIT')) {
          initSetsLeft = text.match(UUIDS)?.length ?? 0;
          reply = accepted;
        } else if (initSetsLeft > 0 && --initSetsLeft === 0) reply = done;
      } else if (body !== undefined) {
        const text = body.toString('latin1');
        const uuid = UUID.exec(text);
        reply = uuid !== null ? sets.get(uuid[0]) : text.includes('REQUEST_INIT') ? catalog : null;
      }
      if (reply) await command.send([id, ...reply]).catch(() => undefined);
    }
  })();
  void (async () => {
    for await (const [from, ...frames] of data) {
      for (const id of peers.values()) {
        if (!id.equals(from)) await data.send([id, ...frames]).catch(() => undefined);
      }
    }
  })();
  void (async () => {
    for await (const _ of heartbeat); // read and dropped
  })();
  return {
    close() {
      for (const s of [command, data, heartbeat]) s.close();
    },
  };
}
