/**
 * Every bound the session enforces, in one object (STYLE.md §6: "every limit
 * configurable"). The reference server has none at all (REPLICATION-PROTOCOL.md §9 item 13).
 * Defaults are generous enough for a 1 GB session of real Blender scenes; each field says what
 * it defends against. Byte bounds are checked on the received frames before anything is decoded.
 */
import type { PickleLimits } from '../pickle/index.js';
import { DEFAULT_PROTOCOL_LIMITS, type ProtocolLimits } from '../protocol/index.js';
import type { ArchiveLimits } from './archive.js';

const KIB = 1024;
const MIB = 1024 * KIB;

export interface SessionLimits extends ArchiveLimits {
  /**
   * Frames in one message. The real client sends 3–5; the reference ignores extras. Defends
   * against a message of millions of empty frames.
   */
  maxFramesPerMessage: number;
  /** UTF-8 frames (node id, owner / username). UUIDs are 36 bytes; defends against huge labels. */
  maxTextFrameBytes: number;
  /** A pickled dependency list. A scene with 100,000 children is ~4 MB; defends against memory pinning. */
  maxDepsFrameBytes: number;
  /**
   * Node data and Commit deltas, on the data socket and inside a ServerSnapshot SET. The largest
   * real nodes (dense meshes, packed images) are a few hundred MB; one message must not exceed this.
   */
  maxPayloadFrameBytes: number;
  /**
   * The data frame of every other command (Right, Delete, Kick, Snapshot, metadata ...). They are
   * small dicts; a Right listing 100,000 ids is ~4 MB.
   */
  maxCommandFrameBytes: number;
  /**
   * Total bytes of a message from an identity that has not logged in (only Auth and
   * RequestServerInfo are read from them). Defends against decoding large pickles for strangers.
   */
  maxPreAuthMessageBytes: number;
  /**
   * The data frame of one UpdateUserMetadata. The captured sessions' largest is 551 bytes
   * (presence, the chat log and the task board as JSON); a selection of 10,000 objects adds ~200 KB.
   */
  maxMetadataUpdateBytes: number;
  /**
   * A user's merged metadata (sum of the pickled sizes of its values). It is re-sent to every client
   * in every UpdateClientsState (about once a second), so it multiplies by users × clients.
   */
  maxMetadataBytes: number;
  /**
   * The merged metadata of all logged-in users together: the bulk of the user list every client
   * receives every second. An update that would cross it is refused whole, so the list stays below
   * about this size plus ~100 bytes per user and the chat/task archive entry, whoever sends what
   * (before this bound 4 users at the per-user limit sent every client 64 MiB a second).
   */
  maxUserListMetadataBytes: number;
  /** Distinct keys in a user's metadata (the add-on uses about ten). */
  maxMetadataKeys: number;
  /** Nodes in the store. 50,000 is a big scene; defends against an unbounded number of tiny nodes. */
  maxNodes: number;
  /** Characters of a username (`AUTH_ID`). It is shown in every client's user list and in logs. */
  maxUsernameChars: number;
  /** Logged-in clients. Each costs an UpdateClientsState entry sent to every other client every second. */
  maxClients: number;
  /**
   * Heartbeat entries of identities that sent INIT but have not logged in yet (§4.13: INIT may come
   * before the Auth). Defends against INIT floods from random identities; the oldest is evicted.
   */
  maxPendingHeartbeats: number;
  /**
   * Characters of a `chat_messages` or `tasks` JSON string the archive parses (§7.2, §7.3). The
   * add-on sends 10 messages and its task board: a few KB. Longer values are merged into the
   * sender's metadata as usual but not archived.
   */
  maxArchiveJsonChars: number;
  /** One archived chat message, as JSON. Defends the archive entry every client receives each second. */
  maxChatMessageBytes: number;
  /** One archived task, as JSON. */
  maxTaskBytes: number;
  /**
   * Containers (dicts, lists, tuples, sets) in the data frame of a command and in a dependency
   * list, the pickles the codec decodes on receipt. The add-on's largest is a presence update
   * with 16 (docs/security.md "What one message can cost"); at the default a hostile command
   * costs the decoder at most ~0.6 MB and a few ms, however small it is.
   */
  maxCommandContainers: number;
  /**
   * Containers a node's data may hold for a Commit to be applied to it. Applying a Commit
   * decodes and re-encodes the whole node (~1.5 µs per container), so without this bound a
   * 100-byte Commit against a node at the container budget (1 M) would stall the event loop for
   * over a second, every time. The add-on's nodes hold a dozen or so (their arrays are `bytes`);
   * a Commit against a bigger node is refused with a warning (the node itself is still accepted,
   * stored and relayed whole when sent as a Node).
   */
  maxCommitNodeContainers: number;
  /** Bounds of the pickles the session scans or decodes (node data, deltas; command data within `maxCommandContainers`). */
  pickle?: Partial<PickleLimits>;
}

/** Defaults of `SessionLimits`. */
export const DEFAULT_SESSION_LIMITS: Readonly<SessionLimits> = Object.freeze({
  maxFramesPerMessage: DEFAULT_PROTOCOL_LIMITS.maxFrames,
  maxTextFrameBytes: DEFAULT_PROTOCOL_LIMITS.maxTextFrameBytes,
  maxDepsFrameBytes: DEFAULT_PROTOCOL_LIMITS.maxDepsFrameBytes,
  maxPayloadFrameBytes: DEFAULT_PROTOCOL_LIMITS.maxPayloadFrameBytes,
  maxCommandFrameBytes: 64 * MIB,
  maxPreAuthMessageBytes: 64 * KIB,
  maxMetadataUpdateBytes: 256 * KIB,
  maxMetadataBytes: 256 * KIB,
  maxUserListMetadataBytes: 1 * MIB,
  maxMetadataKeys: 1024,
  maxNodes: 1_000_000,
  maxUsernameChars: 128,
  maxClients: 256,
  maxPendingHeartbeats: 1024,
  maxArchivedChatMessages: 1000,
  archiveChatWindow: 50,
  maxArchivedTasks: 500,
  maxDeletedTaskIds: 1000,
  maxArchiveJsonChars: 1 * MIB,
  maxCommandContainers: 2_000,
  maxCommitNodeContainers: 20_000,
  maxChatMessageBytes: 16 * KIB,
  maxTaskBytes: 16 * KIB,
});

/** Merges caller overrides onto the defaults. */
export function resolveSessionLimits(limits?: Partial<SessionLimits>): SessionLimits {
  return { ...DEFAULT_SESSION_LIMITS, ...limits };
}

/** The codec's view of the limits, with the data frame of commands bounded by `dataFrameBytes`. */
export function protocolLimitsOf(limits: SessionLimits, dataFrameBytes: number): ProtocolLimits {
  return {
    maxFrames: limits.maxFramesPerMessage,
    maxTypeFrameBytes: DEFAULT_PROTOCOL_LIMITS.maxTypeFrameBytes,
    maxTextFrameBytes: limits.maxTextFrameBytes,
    maxDepsFrameBytes: limits.maxDepsFrameBytes,
    maxPayloadFrameBytes: dataFrameBytes,
    pickle: {
      ...limits.pickle,
      maxContainers: Math.min(limits.maxCommandContainers, limits.pickle?.maxContainers ?? Infinity),
    },
  };
}
