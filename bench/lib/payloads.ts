/**
 * What the network benchmarks send: node data pickles shaped like the add-on's (§5.1: a plain dict
 * with `type_id` and `uuid`) and deepdiff-style Commit deltas, all written by our pickle encoder.
 *
 * Every message carries a *stamp* — sequence number, send time and phase — as three floats at
 * fixed byte offsets of its payload (node data or delta), so a reader finds them without decoding
 * the pickle: readers then cost the same against our server and against the bare relay, and stay
 * cheap enough not to become the bottleneck of the load generator. The offsets are found once by
 * encoding a template with sentinel values, and every encoded payload is checked against them.
 */
import { encodePickle, type PyValue } from '../../src/pickle/index.js';
import { strDict } from '../../src/protocol/index.js';

/** Deterministic UUID-shaped ids (uuid4 never produces the version/variant nibbles used here). */
export function benchUuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Sequence number, send time (`performance.now()` of the load generator) and phase of a message. */
export interface Stamp {
  seq: number;
  sentAt: number;
  phase: number;
}

const SENTINELS: readonly number[] = [1234567.0078125, 7654321.0078125, 3141592.0078125];

function floatOffsets(bytes: Uint8Array): [number, number, number] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = SENTINELS.map((v) => {
    const pattern = Buffer.alloc(8);
    pattern.writeDoubleBE(v);
    const at = buf.indexOf(pattern);
    if (at < 0 || buf.indexOf(pattern, at + 1) >= 0) throw new Error(`sentinel ${v} not found exactly once`);
    return at;
  });
  return found as [number, number, number];
}

const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);

/** A big-endian double (pickle BINFLOAT) at `at`, without allocating. */
function readDoubleBE(bytes: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) scratchBytes[7 - i] = bytes[at + i];
  return scratch[0];
}

/**
 * A kind of payload whose stamp lives at fixed offsets. `encode` copies a pre-encoded template
 * and writes the stamp into the copy: the bytes `encodePickle` gives for that stamp (checked at
 * construction), at a fraction of the load generator's CPU — encoding a fresh pickle per message
 * was a measurable share of it.
 */
export class StampedPayload {
  readonly offsets: [number, number, number];
  readonly bytes: number;
  private readonly template: Buffer;

  constructor(
    readonly name: string,
    build: (stamp: Stamp) => PyValue,
  ) {
    const sentinels = encodePickle(build({ seq: SENTINELS[0], sentAt: SENTINELS[1], phase: SENTINELS[2] }));
    this.offsets = floatOffsets(sentinels);
    this.bytes = sentinels.length;
    this.template = sentinels;
    const probe = { seq: 12345, sentAt: 6789.25, phase: 3 };
    if (!this.encode(probe).equals(encodePickle(build(probe)))) {
      throw new Error(`${name}: the stamp is not at fixed offsets (the payload layout is not fixed)`);
    }
  }

  /** A fresh buffer per message: a large one is written to the socket by reference. */
  encode(stamp: Stamp): Buffer {
    const bytes = Buffer.allocUnsafe(this.bytes);
    this.template.copy(bytes);
    bytes.writeDoubleBE(stamp.seq, this.offsets[0]);
    bytes.writeDoubleBE(stamp.sentAt, this.offsets[1]);
    bytes.writeDoubleBE(stamp.phase, this.offsets[2]);
    return bytes;
  }

  /** The stamp of a received payload (node data or delta bytes as received). */
  read(bytes: Uint8Array, into: Stamp): Stamp {
    into.seq = readDoubleBE(bytes, this.offsets[0]);
    into.sentAt = readDoubleBE(bytes, this.offsets[1]);
    into.phase = readDoubleBE(bytes, this.offsets[2]);
    return into;
  }
}

/**
 * Node data like the add-on's dumper output for an object: transform lists of floats, a name and,
 * for the big variant, a bytes blob the size of a small mesh's vertex buffer. `location` holds the
 * stamp for Node updates.
 */
function nodeValue(uuid: string, stamp: Stamp, blobBytes: number): PyValue {
  const entries: [string, PyValue][] = [
    ['type_id', 'Object'],
    ['uuid', uuid],
    ['name', 'Cube.001'],
    ['location', [stamp.seq, stamp.sentAt, stamp.phase]],
    ['scale', [1.0, 1.0, 1.0]],
  ];
  if (blobBytes > 0) entries.push(['vertices', new Uint8Array(blobBytes).fill(0x3f)]);
  return strDict(entries);
}

/** Whole-node updates of about `totalBytes` of node data. */
export function nodePayload(name: string, uuid: string, totalBytes: number): StampedPayload {
  const base = encodePickle(nodeValue(uuid, { seq: 0, sentAt: 0, phase: 0 }, 0)).length;
  // A blob adds its length plus a few opcode bytes (key, BINBYTES header, memo).
  const blob = totalBytes > base + 64 ? totalBytes - base - 24 : 0;
  return new StampedPayload(name, (stamp) => nodeValue(uuid, stamp, blob));
}

/** The node data a session starts with (stamp zero); the Commit target must have this shape. */
export function initialNodeBytes(uuid: string): Buffer {
  return encodePickle(nodeValue(uuid, { seq: 0, sentAt: 0, phase: 0 }, 0));
}

/**
 * A `Delta.dumps()`-shaped delta: `{'values_changed': {path: {'new_value': v}}}` on
 * `root['location'][0..2]` (the stamp) and `root['name']`, padded through the name to about
 * `totalBytes`. The session applies it to the node of `initialNodeBytes`, so it must stay valid:
 * every path exists there and every value is a plain float or str.
 */
export function commitPayload(name: string, totalBytes: number): StampedPayload {
  const build = (pad: string) => (stamp: Stamp) =>
    strDict([
      [
        'values_changed',
        strDict([
          ["root['location'][0]", strDict([['new_value', stamp.seq]])],
          ["root['location'][1]", strDict([['new_value', stamp.sentAt]])],
          ["root['location'][2]", strDict([['new_value', stamp.phase]])],
          ["root['name']", strDict([['new_value', `Cube.${pad}`]])],
        ]),
      ],
    ]);
  const base = encodePickle(build('')({ seq: 0, sentAt: 0, phase: 0 })).length;
  return new StampedPayload(name, build('x'.repeat(Math.max(0, Math.min(200, totalBytes - base)))));
}
