/**
 * The ServerSnapshot SET command data as the add-on and our client pickle it, recognised by its
 * bytes: `pickle.dumps({'STATE': 'SET', 'DATA': [five bytes]})` at protocol 4, one frame:
 *
 *   PROTO 4, FRAME n, EMPTY_DICT, MEMOIZE, MARK,
 *   SHORT_BINUNICODE 'STATE', MEMOIZE, SHORT_BINUNICODE 'SET', MEMOIZE,
 *   SHORT_BINUNICODE 'DATA', MEMOIZE, EMPTY_LIST, MEMOIZE, MARK,
 *   5 × (SHORT_BINBYTES | BINBYTES, MEMOIZE), APPENDS, SETITEMS, STOP
 *
 * An init sends one per node, and scanning then decoding each (two passes over ~25 opcodes, plus
 * the plain-value walk) was the largest share of the server's work per node, most of all before
 * the JIT has optimised the general decoder. Nothing this accepts is refused by the general path
 * (no global, two containers, nine memo entries, depth 2) and the value is the one it would build,
 * with the bytes as views of the frame as the decoder gives them. Anything else — another
 * protocol, more frames, trailing bytes, a large chunk Python writes outside the frame — returns
 * undefined and goes through the scanner and the decoder as before.
 */
import type { PickleLimits, PyValue } from '../pickle/index.js';
import { resolvePickleLimits } from '../pickle/index.js';
import { SERVER_SNAPSHOT_SET, SNAPSHOT_KEY_DATA, SNAPSHOT_KEY_STATE } from './constants.js';
import { strDict } from './replies.js';

/** PROTO 4, FRAME (its 8-byte length follows). */
const HEAD = [0x80, 0x04, 0x95];
/** SHORT_BINUNICODE `text`, MEMOIZE. */
const shortStr = (text: string): Buffer =>
  Buffer.concat([Buffer.from([0x8c, text.length]), Buffer.from(text, 'latin1'), Buffer.from([0x94])]);
/** From EMPTY_DICT to the MARK that opens the chunk list. */
const KEYS = Buffer.concat([
  Buffer.from([0x7d, 0x94, 0x28]), // EMPTY_DICT MEMOIZE MARK
  shortStr(SNAPSHOT_KEY_STATE),
  shortStr(SERVER_SNAPSHOT_SET),
  shortStr(SNAPSHOT_KEY_DATA),
  Buffer.from([0x5d, 0x94, 0x28]), // EMPTY_LIST MEMOIZE MARK
]);
/** APPENDS SETITEMS STOP. */
const TAIL = [0x65, 0x75, 0x2e];
const CHUNKS = 5;
const FRAME_HEADER = HEAD.length + 8;

/** `{'STATE': 'SET', 'DATA': [5 bytes]}` when `frame` is exactly the layout above, else undefined. */
export function fastServerSnapshotSet(frame: Uint8Array, limits?: Partial<PickleLimits>): PyValue | undefined {
  const end = frame.length;
  if (end < FRAME_HEADER + KEYS.length + CHUNKS * 3 + TAIL.length) return undefined;
  if (frame[0] !== HEAD[0] || frame[1] !== HEAD[1] || frame[2] !== HEAD[2]) return undefined;
  // The frame holds the rest of the pickle exactly (what a single-frame pickle has).
  const lo = frame[3] | (frame[4] << 8) | (frame[5] << 16) | (frame[6] << 24);
  if (lo >>> 0 !== end - FRAME_HEADER || frame[7] | frame[8] | frame[9] | frame[10]) return undefined;
  let pos = FRAME_HEADER;
  for (let i = 0; i < KEYS.length; i++) if (frame[pos + i] !== KEYS[i]) return undefined;
  pos += KEYS.length;
  const chunks: Uint8Array[] = [];
  for (let c = 0; c < CHUNKS; c++) {
    let n: number;
    if (frame[pos] === 0x43) {
      // SHORT_BINBYTES
      if (pos + 2 > end) return undefined;
      n = frame[pos + 1];
      pos += 2;
    } else if (frame[pos] === 0x42) {
      // BINBYTES
      if (pos + 5 > end) return undefined;
      n = (frame[pos + 1] | (frame[pos + 2] << 8) | (frame[pos + 3] << 16) | (frame[pos + 4] << 24)) >>> 0;
      pos += 5;
    } else return undefined;
    // The bytes, then MEMOIZE, must fit before the tail.
    if (n > end - pos - 1 - TAIL.length) return undefined;
    chunks.push(new Uint8Array(frame.buffer, frame.byteOffset + pos, n));
    pos += n;
    if (frame[pos++] !== 0x94) return undefined;
  }
  if (pos + TAIL.length !== end) return undefined;
  if (frame[pos] !== TAIL[0] || frame[pos + 1] !== TAIL[1] || frame[pos + 2] !== TAIL[2]) return undefined;
  // Limits this tight would refuse the shape: the general path then says why.
  const l = resolvePickleLimits(limits);
  if (l.maxBytes < end || l.maxDepth < 2 || l.maxItems < 32 || l.maxMemo < 9 || l.maxContainers < 2) return undefined;
  if (l.maxKeyNodes < 1) return undefined;
  return strDict([
    [SNAPSHOT_KEY_STATE, SERVER_SNAPSHOT_SET],
    [SNAPSHOT_KEY_DATA, chunks],
  ]);
}
