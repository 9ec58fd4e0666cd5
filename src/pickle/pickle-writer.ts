/**
 * The byte-level half of the protocol 4 encoder: a growable output buffer with CPython's
 * framing (PEP 3154), opcode writers for scalars and the memo counter. `encode.ts` walks the
 * value and decides what to write; this file only knows bytes.
 *
 * Framing follows CPython's C pickler (Modules/_pickle.c): PROTO sits before the first frame,
 * a frame is committed at the first opcode boundary once it holds 64 KiB, a frame shorter than
 * 4 bytes gets no FRAME header, and a str/bytes payload of 64 KiB or more is written outside any
 * frame (`_Pickler_write_bytes`), so the reader can take it without copying.
 */
import { pickleError } from './errors.js';
import {
  BINBYTES,
  BINBYTES8,
  BINFLOAT,
  BINGET,
  BININT,
  BININT1,
  BININT2,
  BINUNICODE,
  FRAME,
  LONG1,
  LONG4,
  LONG_BINGET,
  MEMOIZE,
  NEWFALSE,
  NEWTRUE,
  NONE,
  PROTO,
  SHORT_BINBYTES,
  SHORT_BINUNICODE,
  STOP,
} from './opcodes.js';

declare global {
  interface String {
    /** ES2024, present in Node 20; our `lib` setting predates it. */
    isWellFormed(): boolean;
  }
}

/** CPython's `FRAME_SIZE_TARGET`: frames are cut, and big payloads taken out of frames, at this size. */
export const FRAME_SIZE_TARGET = 64 * 1024;
/** CPython's `FRAME_SIZE_MIN`: a smaller frame is not worth its 9-byte header. */
const FRAME_SIZE_MIN = 4;
const FRAME_HEADER_SIZE = 9;

const INITIAL_BYTES = 64 * 1024;
/** A scratch buffer larger than this is dropped after use instead of being kept for the next call. */
const KEEP_SCRATCH_BYTES = 4 * 1024 * 1024;
let scratch: Buffer | null = null;
/** A streaming writer's buffer after `take()`: a frame cut at the target size plus one payload below it. */
const STREAM_BYTES = 2 * FRAME_SIZE_TARGET + 64;

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One encoding run. Not reentrant; `encode.ts` creates one per call and the scratch buffer is reused. */
export class PickleWriter {
  buf: Buffer;
  pos = 0;
  /** Offset of the 9 bytes reserved for the current frame's header. */
  private frameStart = -1;
  /**
   * The output so far, in order: views of `buf` (or of an older `buf` it outgrew: those bytes
   * are never written again) and, marked in `external`, big payloads viewing the caller's memory.
   */
  private readonly pieces: Buffer[] = [];
  private readonly external: boolean[] = [];
  /** Start of the piece of `buf` not yet in `pieces`. */
  private pieceStart = 0;
  memoSize = 0;

  constructor(private readonly zeroCopy: boolean) {
    const s = scratch;
    scratch = null; // taken; returned by finish()
    this.buf = s ?? Buffer.allocUnsafe(INITIAL_BYTES);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = b;
  }

  begin(): void {
    this.ensure(2 + FRAME_HEADER_SIZE);
    this.buf[this.pos++] = PROTO;
    this.buf[this.pos++] = 4;
    this.openFrame();
  }

  private openFrame(): void {
    this.ensure(FRAME_HEADER_SIZE);
    this.frameStart = this.pos;
    this.pos += FRAME_HEADER_SIZE;
  }

  private commitFrame(): void {
    const start = this.frameStart;
    const len = this.pos - start - FRAME_HEADER_SIZE;
    if (len >= FRAME_SIZE_MIN) {
      const b = this.buf;
      b[start] = FRAME;
      b.writeUInt32LE(len, start + 1);
      b.writeUInt32LE(0, start + 5);
    } else {
      this.buf.copyWithin(start, start + FRAME_HEADER_SIZE, this.pos);
      this.pos -= FRAME_HEADER_SIZE;
    }
    this.frameStart = -1;
  }

  /** An opcode boundary (CPython `_Pickler_OpcodeBoundary`): cut the frame once it is big enough. */
  boundary(): void {
    if (this.pos - this.frameStart - FRAME_HEADER_SIZE >= FRAME_SIZE_TARGET) {
      this.commitFrame();
      this.openFrame();
    }
  }

  /**
   * STOP, the last frame, and the output. One Buffer holding the whole pickle, or (`zeroCopy`)
   * the pieces, each big payload being the caller's own memory. Either way nothing returned
   * shares memory with the scratch buffer, which the next call reuses.
   */
  finish(): Buffer[] {
    this.byte(STOP);
    this.commitFrame();
    this.cutPiece();
    const pieces = this.pieces;
    let out: Buffer[];
    if (this.zeroCopy) {
      out = pieces.map((p, i) => (this.external[i] ? p : Buffer.from(p)));
    } else if (pieces.length === 1) {
      out = [Buffer.from(pieces[0])];
    } else {
      // One copy of every byte, payloads included (Buffer.concat would copy them just the same).
      out = [Buffer.concat(pieces)];
    }
    if (this.buf.length <= KEEP_SCRATCH_BYTES) scratch = this.buf;
    return out;
  }

  /**
   * Streaming: the output before the open frame (committed frames and big payloads), handed out;
   * what follows is written into a fresh buffer, since the handed-out parts view the current one.
   * Call it after `boundary()` so that the open frame is (nearly) empty.
   */
  take(): Buffer[] {
    const end = this.frameStart;
    if (end > this.pieceStart) {
      this.pieces.push(this.buf.subarray(this.pieceStart, end));
      this.external.push(false);
    }
    const out = this.pieces.splice(0);
    this.external.length = 0;
    if (end > 0) {
      const rest = this.pos - end;
      const next = Buffer.allocUnsafe(Math.max(STREAM_BYTES, 2 * rest));
      this.buf.copy(next, 0, end, this.pos);
      this.buf = next;
      this.pos = rest;
      this.frameStart = 0;
    }
    this.pieceStart = 0;
    return out;
  }

  /** Ends the current frame and opens the next one, so that what was written so far can be taken. */
  endFrame(): void {
    this.commitFrame();
    this.openFrame();
  }

  private cutPiece(): void {
    if (this.pos > this.pieceStart) {
      this.pieces.push(this.buf.subarray(this.pieceStart, this.pos));
      this.external.push(false);
    }
    this.pieceStart = this.pos;
  }

  memoize(): number {
    this.byte(MEMOIZE);
    return this.memoSize++;
  }

  get(index: number): void {
    this.ensure(5);
    const b = this.buf;
    if (index < 256) {
      b[this.pos++] = BINGET;
      b[this.pos++] = index;
    } else {
      b[this.pos++] = LONG_BINGET;
      b.writeUInt32LE(index, this.pos);
      this.pos += 4;
    }
  }

  none(): void {
    this.byte(NONE);
  }

  bool(v: boolean): void {
    this.byte(v ? NEWTRUE : NEWFALSE);
  }

  /** CPython `save_long`: BININT1/BININT2/BININT within int32, else LONG1/LONG4 minimal two's complement. */
  int(v: bigint): void {
    // Number() rounds only beyond 2^53, and rounding never moves a value across the int32 bounds.
    const n = Number(v);
    if (n >= -0x80000000 && n <= 0x7fffffff) {
      this.ensure(5);
      const b = this.buf;
      if (n >= 0 && n <= 0xff) {
        b[this.pos++] = BININT1;
        b[this.pos++] = n;
      } else if (n >= 0 && n <= 0xffff) {
        b[this.pos++] = BININT2;
        b[this.pos++] = n & 0xff;
        b[this.pos++] = n >>> 8;
      } else {
        b[this.pos++] = BININT;
        b.writeInt32LE(n, this.pos);
        this.pos += 4;
      }
      return;
    }
    this.bigInt(v);
  }

  /** `pickle.encode_long`: (bit_length >> 3) + 1 bytes, dropping a redundant 0xff sign byte of a negative. */
  private bigInt(v: bigint): void {
    const neg = v < 0n;
    const mag = neg ? -v : v;
    // bit_length of |v| from its hex digits (avoids a loop of bigint shifts).
    const hex = mag.toString(16);
    const bitLength = (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0], 16)));
    let nbytes = (bitLength >> 3) + 1;
    const twos = neg ? (1n << BigInt(nbytes * 8)) + v : v;
    let digits = twos.toString(16);
    digits = digits.padStart(nbytes * 2, '0');
    if (neg && nbytes > 1 && digits.startsWith('ff') && parseInt(digits[2], 16) >= 8) {
      digits = digits.slice(2);
      nbytes--;
    }
    this.ensure(5 + nbytes);
    const b = this.buf;
    if (nbytes < 256) {
      b[this.pos++] = LONG1;
      b[this.pos++] = nbytes;
    } else {
      b[this.pos++] = LONG4;
      b.writeUInt32LE(nbytes, this.pos);
      this.pos += 4;
    }
    // Hex digits are big endian; the pickle wants little endian.
    for (let i = 0; i < nbytes; i++) {
      const at = (nbytes - 1 - i) * 2;
      b[this.pos++] = parseInt(digits.slice(at, at + 2), 16);
    }
  }

  /** BINFLOAT: IEEE 754 big endian, NaN payload and sign as JS holds them. */
  float(v: number): void {
    this.ensure(9);
    const b = this.buf;
    const p = this.pos;
    b[p] = BINFLOAT;
    if (!LITTLE_ENDIAN) {
      b.writeDoubleBE(v, p + 1);
      this.pos = p + 9;
      return;
    }
    // Through a typed array rather than writeDoubleBE: this is the hottest scalar in node data.
    f64[0] = v;
    b[p + 1] = f64Bytes[7];
    b[p + 2] = f64Bytes[6];
    b[p + 3] = f64Bytes[5];
    b[p + 4] = f64Bytes[4];
    b[p + 5] = f64Bytes[3];
    b[p + 6] = f64Bytes[2];
    b[p + 7] = f64Bytes[1];
    b[p + 8] = f64Bytes[0];
    this.pos = p + 9;
  }

  /** A str, UTF-8 with `surrogatepass` (a lone surrogate becomes its 3-byte form), then MEMOIZE is up to the caller. */
  str(s: string): void {
    const n = s.length;
    if (n <= 85) {
      // At most 3 bytes per UTF-16 unit, so this always fits SHORT_BINUNICODE's 1-byte length.
      this.ensure(2 + 3 * n);
      const b = this.buf;
      const start = this.pos;
      b[start] = SHORT_BINUNICODE;
      const end = writeUtf8(b, start + 2, s);
      b[start + 1] = end - start - 2;
      this.pos = end;
      return;
    }
    // Same count as surrogatepass: a lone surrogate is 3 bytes either way (U+FFFD or its own form).
    const len = Buffer.byteLength(s, 'utf8');
    this.strHeader(len);
    const b = this.buf;
    this.pos = s.isWellFormed() ? this.pos + b.write(s, this.pos, len, 'utf8') : writeUtf8(b, this.pos, s);
    if (len >= FRAME_SIZE_TARGET) this.openFrame();
  }

  /**
   * The opcode and length of a str of `len` UTF-8 bytes, with room reserved for its bytes; a str
   * of a frame's size or more goes outside any frame, as CPython writes it.
   */
  private strHeader(len: number): void {
    if (len >= FRAME_SIZE_TARGET) this.commitFrame();
    this.ensure(5 + len);
    const b = this.buf;
    if (len <= 0xff) {
      b[this.pos++] = SHORT_BINUNICODE;
      b[this.pos++] = len;
    } else {
      b[this.pos++] = BINUNICODE;
      b.writeUInt32LE(len, this.pos);
      this.pos += 4;
    }
  }

  /** A str given as code points (PyCodepointStr): each code point on its own, surrogates included. */
  codepoints(cps: readonly number[]): void {
    let len = 0;
    for (const c of cps) len += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    this.strHeader(len);
    const b = this.buf;
    let p = this.pos;
    for (const c of cps) {
      if (c < 0 || c > 0x10ffff || !Number.isInteger(c)) {
        throw pickleError('PICKLE_UNENCODABLE', `code point ${c} is out of range`);
      }
      p = writeCodePoint(b, p, c);
    }
    this.pos = p;
    if (len >= FRAME_SIZE_TARGET) this.openFrame();
  }

  /** bytes. A payload of 64 KiB or more goes outside any frame, as a piece of its own (see finish()). */
  bytes(v: Uint8Array): void {
    const len = v.length;
    const large = len >= FRAME_SIZE_TARGET;
    if (large) this.commitFrame();
    this.ensure(9);
    const b = this.buf;
    if (len <= 0xff) {
      b[this.pos++] = SHORT_BINBYTES;
      b[this.pos++] = len;
    } else if (len <= 0xffffffff) {
      b[this.pos++] = BINBYTES;
      b.writeUInt32LE(len, this.pos);
      this.pos += 4;
    } else {
      b[this.pos++] = BINBYTES8;
      b.writeBigUInt64LE(BigInt(len), this.pos);
      this.pos += 8;
    }
    if (large) {
      // Not copied into `buf`: finish() copies it once into the result, or hands it out as is.
      this.cutPiece();
      this.pieces.push(Buffer.from(v.buffer, v.byteOffset, len));
      this.external.push(true);
    } else {
      this.ensure(len);
      this.buf.set(v, this.pos);
      this.pos += len;
    }
    if (large) this.openFrame();
  }

  /** A text line for INST (module and name are ASCII: the unpickler decodes them as such). */
  asciiLine(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || c === 0x0a)
        throw pickleError('PICKLE_UNENCODABLE', `INST name ${JSON.stringify(s)} is not ASCII`);
    }
    this.ensure(s.length + 1);
    this.pos += this.buf.write(s, this.pos, 'latin1');
    this.buf[this.pos++] = 0x0a;
  }
}

function writeCodePoint(b: Buffer, p: number, c: number): number {
  if (c < 0x80) {
    b[p++] = c;
  } else if (c < 0x800) {
    b[p++] = 0xc0 | (c >> 6);
    b[p++] = 0x80 | (c & 0x3f);
  } else if (c < 0x10000) {
    b[p++] = 0xe0 | (c >> 12);
    b[p++] = 0x80 | ((c >> 6) & 0x3f);
    b[p++] = 0x80 | (c & 0x3f);
  } else {
    b[p++] = 0xf0 | (c >> 18);
    b[p++] = 0x80 | ((c >> 12) & 0x3f);
    b[p++] = 0x80 | ((c >> 6) & 0x3f);
    b[p++] = 0x80 | (c & 0x3f);
  }
  return p;
}

/** UTF-8 with Python's `surrogatepass`: a surrogate pair is one code point, a lone surrogate its own 3 bytes. */
function writeUtf8(b: Buffer, p: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      b[p++] = c;
      continue;
    }
    if ((c & 0xfc00) === 0xd800 && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if ((d & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    p = writeCodePoint(b, p, c);
  }
  return p;
}
