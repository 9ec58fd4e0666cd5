/**
 * The 14 replication object types and their frame-0 bytes (REPLICATION-PROTOCOL.md §2.1,
 * captures/samples/type_num_frames.json). Names are the Python class names so a grep finds the
 * same thing in both codebases (STYLE.md §3).
 */

/** Type number of each replication class, as `pickle.dumps(n, protocol=4)` carries it in frame 0. */
export const MessageType = {
  Commit: 1,
  Node: 2,
  Command: 3,
  Delete: 4,
  Right: 5,
  Config: 6,
  Snapshot: 7,
  ServerSnapshot: 8,
  Auth: 9,
  Disconnect: 10,
  Kick: 11,
  UpdateClientsState: 12,
  UpdateUserMetadata: 13,
  RequestServerInfo: 14,
} as const;

export type MessageTypeName = keyof typeof MessageType;
export type MessageTypeNumber = (typeof MessageType)[MessageTypeName];

/** The type numbers of the Command subclasses (3–14): frames are type, owner, pickled data (§2.2). */
export type CommandTypeNumber = Exclude<MessageTypeNumber, 1 | 2>;

const NAMES: readonly MessageTypeName[] = Object.keys(MessageType) as MessageTypeName[];

/** The Python class name of a type number. */
export function messageTypeName(type: MessageTypeNumber): MessageTypeName {
  return NAMES[type - 1];
}

/** Whether `n` is one of the 14 type numbers. */
export function isMessageType(n: number): n is MessageTypeNumber {
  return Number.isInteger(n) && n >= MessageType.Commit && n <= MessageType.RequestServerInfo;
}

/** Whether a type number is a Command subclass (3 frames: type, owner, data). */
export function isCommandType(n: MessageTypeNumber): n is CommandTypeNumber {
  return n >= MessageType.Command;
}

/** PROTO 4, BININT1, STOP: what CPython writes for a small int (no FRAME: payload < 4 bytes). */
const CANONICAL_PREFIX_0 = 0x80;
const CANONICAL_PREFIX_1 = 0x04;
const CANONICAL_BININT1 = 0x4b;
const CANONICAL_STOP = 0x2e;

/** Length of the canonical frame 0 (`80 04 4b nn 2e`). */
export const CANONICAL_TYPE_FRAME_BYTES = 5;

const TYPE_FRAMES: readonly Buffer[] = NAMES.map((_, i) =>
  Buffer.from([CANONICAL_PREFIX_0, CANONICAL_PREFIX_1, CANONICAL_BININT1, i + 1, CANONICAL_STOP]),
);

/**
 * The canonical frame 0 of a type, byte-identical to the reference (§2.1). The returned Buffer is
 * shared by every message of that type so fan-out never allocates it again: never write into it.
 */
export function typeFrame(type: MessageTypeNumber): Buffer {
  return TYPE_FRAMES[type - 1];
}

/**
 * The type number of a canonical frame 0, or `undefined` when the frame is anything else (which
 * must then go through the full pickle decoder: any pickle of the int is valid, §2.1).
 */
export function canonicalTypeOf(frame: Uint8Array): MessageTypeNumber | undefined {
  if (
    frame.length === CANONICAL_TYPE_FRAME_BYTES &&
    frame[0] === CANONICAL_PREFIX_0 &&
    frame[1] === CANONICAL_PREFIX_1 &&
    frame[2] === CANONICAL_BININT1 &&
    frame[4] === CANONICAL_STOP &&
    isMessageType(frame[3])
  ) {
    return frame[3];
  }
  return undefined;
}
