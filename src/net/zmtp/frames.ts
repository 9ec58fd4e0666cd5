/**
 * ZMTP 3.x framing (RFC 23 §"Framing"): a flags byte (bit 0 MORE, bit 1 LONG, bit 2 COMMAND, the
 * rest reserved and zero), then a 1-byte or 8-byte big-endian size, then the body.
 *
 * `FrameReader` is an explicit state machine over socket chunks (the shape of ws's receiver): a
 * frame's size is checked against the message budget the moment its header is complete, before
 * a byte of its body is buffered, so a peer cannot make us hold more than the budget allows. A
 * body is copied once, from the socket's chunks into a buffer of exactly its size; an empty frame
 * costs no allocation. `encodeMessage` builds what a send writes: small frames and all headers
 * coalesced into one buffer, large bodies passed by reference, so fanning one message out to N
 * connections writes the same buffers N times and copies nothing per recipient.
 */

export const FLAG_MORE = 0x01;
export const FLAG_LONG = 0x02;
export const FLAG_COMMAND = 0x04;
const RESERVED_FLAGS = 0xf8;

/** What one message may cost; taken from the connection when a message's first header arrives. */
export interface FrameBudget {
  /** Frames in one message. */
  readonly maxFrames: number;
  /** Bytes in one frame. */
  readonly maxFrameBytes: number;
  /** Bytes in all frames of one message. */
  readonly maxMessageBytes: number;
}

export type FrameErrorCode =
  | 'ZMTP_RESERVED_FLAGS' // a reserved flag bit is set
  | 'ZMTP_COMMAND_MORE' // a command frame with the MORE flag
  | 'ZMTP_COMMAND_IN_MESSAGE' // a command frame between the frames of a multipart message
  | 'ZMTP_COMMAND_BYTES' // a command larger than the command bound
  | 'BUDGET_FRAMES' // more frames in a message than the budget
  | 'BUDGET_FRAME_BYTES' // a frame larger than the budget
  | 'BUDGET_MESSAGE_BYTES'; // a message larger than the budget

export interface FrameError {
  readonly code: FrameErrorCode;
  readonly reason: string;
  /** The bound that was exceeded, for budget errors. */
  readonly limit?: number;
}

/** Where a reader hands what it has read. */
export interface FrameSink {
  /** The budget for the message whose first frame header just arrived. */
  budget(): FrameBudget;
  /** A complete message (one or more data frames). */
  message(frames: Buffer[]): void;
  /** A complete command frame's body. */
  command(body: Buffer): void;
}

const enum State {
  Flags,
  ShortSize,
  LongSize,
  Body,
}

const EMPTY = Buffer.alloc(0);
/** Bodies up to this size come from Node's shared pool (cheap); larger ones get their own memory. */
const POOLED_BODY_BYTES = 4096;
/** 2^53: a long size at or above this cannot be a JS integer, and is above every budget anyway. */
const HIGH_WORD_LIMIT = 2 ** 21;

export class FrameReader {
  private state = State.Flags;
  private flags = 0;
  private readonly sizeBytes = Buffer.alloc(8);
  private sizeHave = 0;
  private body: Buffer = EMPTY;
  private bodyHave = 0;
  private frames: Buffer[] = [];
  private messageBytes = 0;
  private budget: FrameBudget | null = null;
  private stopped = false;

  constructor(
    private readonly sink: FrameSink,
    /** Largest command body accepted (READY with its properties, PING, ...). */
    private readonly maxCommandBytes: number,
  ) {}

  /** Whether a frame or a multipart message has begun and not ended (a peer closing now cut it). */
  get midMessage(): boolean {
    return this.state !== State.Flags || this.frames.length > 0;
  }

  /** Frames of the current message so far and bytes of the frame being read (for log lines). */
  get progress(): { frames: number; messageBytes: number } {
    return { frames: this.frames.length, messageBytes: this.messageBytes };
  }

  /** No more callbacks after this (the connection is closing); later chunks are ignored. */
  stop(): void {
    this.stopped = true;
    this.frames = [];
    this.body = EMPTY;
  }

  /** Reads a chunk; returns the first violation (then the reader is stopped), or null. */
  push(chunk: Buffer): FrameError | null {
    let at = 0;
    const end = chunk.length;
    while (at < end && !this.stopped) {
      switch (this.state) {
        case State.Flags: {
          const flags = chunk[at++];
          const err = this.onFlags(flags);
          if (err !== null) return this.fail(err);
          break;
        }
        case State.ShortSize: {
          const err = this.onSize(chunk[at++]);
          if (err !== null) return this.fail(err);
          break;
        }
        case State.LongSize: {
          const take = Math.min(8 - this.sizeHave, end - at);
          chunk.copy(this.sizeBytes, this.sizeHave, at, at + take);
          this.sizeHave += take;
          at += take;
          if (this.sizeHave === 8) {
            const high = this.sizeBytes.readUInt32BE(0);
            const size = high >= HIGH_WORD_LIMIT ? Infinity : high * 2 ** 32 + this.sizeBytes.readUInt32BE(4);
            const err = this.onSize(size);
            if (err !== null) return this.fail(err);
          }
          break;
        }
        case State.Body: {
          const take = Math.min(this.body.length - this.bodyHave, end - at);
          chunk.copy(this.body, this.bodyHave, at, at + take);
          this.bodyHave += take;
          at += take;
          if (this.bodyHave === this.body.length) this.finishFrame(this.body);
          break;
        }
      }
    }
    return null;
  }

  private fail(err: FrameError): FrameError {
    this.stop();
    return err;
  }

  private onFlags(flags: number): FrameError | null {
    if ((flags & RESERVED_FLAGS) !== 0) {
      return { code: 'ZMTP_RESERVED_FLAGS', reason: `reserved frame flag bits set (0x${flags.toString(16)})` };
    }
    if ((flags & FLAG_COMMAND) !== 0) {
      if ((flags & FLAG_MORE) !== 0) return { code: 'ZMTP_COMMAND_MORE', reason: 'command frame with the MORE flag' };
      if (this.frames.length > 0) {
        return { code: 'ZMTP_COMMAND_IN_MESSAGE', reason: 'command frame inside a multipart message' };
      }
    }
    this.flags = flags;
    this.sizeHave = 0;
    this.state = (flags & FLAG_LONG) !== 0 ? State.LongSize : State.ShortSize;
    return null;
  }

  private onSize(size: number): FrameError | null {
    if ((this.flags & FLAG_COMMAND) !== 0) {
      if (size > this.maxCommandBytes) {
        return {
          code: 'ZMTP_COMMAND_BYTES',
          reason: `command of ${describeSize(size)} bytes (max ${this.maxCommandBytes})`,
          limit: this.maxCommandBytes,
        };
      }
    } else {
      if (this.frames.length === 0) {
        this.budget = this.sink.budget();
        this.messageBytes = 0;
      }
      const b = this.budget as FrameBudget;
      if (this.frames.length + 1 > b.maxFrames) {
        return { code: 'BUDGET_FRAMES', reason: `more than ${b.maxFrames} frames in one message`, limit: b.maxFrames };
      }
      if (size > b.maxFrameBytes) {
        return {
          code: 'BUDGET_FRAME_BYTES',
          reason: `frame of ${describeSize(size)} bytes (max ${b.maxFrameBytes})`,
          limit: b.maxFrameBytes,
        };
      }
      if (this.messageBytes + size > b.maxMessageBytes) {
        return {
          code: 'BUDGET_MESSAGE_BYTES',
          reason: `message of more than ${b.maxMessageBytes} bytes`,
          limit: b.maxMessageBytes,
        };
      }
    }
    if (size === 0) {
      this.finishFrame(EMPTY);
      return null;
    }
    this.body = size <= POOLED_BODY_BYTES ? Buffer.allocUnsafe(size) : Buffer.allocUnsafeSlow(size);
    this.bodyHave = 0;
    this.state = State.Body;
    return null;
  }

  private finishFrame(body: Buffer): void {
    this.state = State.Flags;
    this.body = EMPTY;
    if ((this.flags & FLAG_COMMAND) !== 0) {
      this.sink.command(body);
      return;
    }
    this.frames.push(body);
    this.messageBytes += body.length;
    if ((this.flags & FLAG_MORE) === 0) {
      const frames = this.frames;
      this.frames = [];
      this.messageBytes = 0;
      this.sink.message(frames);
    }
  }
}

function describeSize(size: number): string {
  return Number.isFinite(size) ? String(size) : 'at least 2^53';
}

/** A frame header: 2 bytes for bodies up to 255 bytes, 9 bytes above. */
export function encodeFrameHeader(size: number, more: boolean, command = false): Buffer {
  const flagBits = (more ? FLAG_MORE : 0) | (command ? FLAG_COMMAND : 0);
  if (size <= 255) return Buffer.from([flagBits, size]);
  const h = Buffer.allocUnsafe(9);
  h[0] = flagBits | FLAG_LONG;
  h.writeUInt32BE(Math.floor(size / 2 ** 32), 1);
  h.writeUInt32BE(size >>> 0, 5);
  return h;
}

/** A command frame, ready to write. */
export function encodeCommandFrame(body: Buffer): Buffer {
  return Buffer.concat([encodeFrameHeader(body.length, false, true), body]);
}

/** Frames at or below this size are copied into the shared header buffer instead of written apart. */
const COALESCE_FRAME_BYTES = 16 * 1024;

/**
 * What to write for one multipart message: headers and small frames copied once into shared
 * buffers, large frames referenced as they are. Encode once, write to every recipient.
 */
export function encodeMessage(frames: readonly Uint8Array[]): Buffer[] {
  const out: Buffer[] = [];
  // Runs of headers and small frames between large ones are written straight into one buffer each.
  let runStart = 0;
  let runBytes = 0;
  const last = frames.length - 1;
  for (let i = 0; i <= last; i++) {
    const n = frames[i].byteLength;
    runBytes += n <= 255 ? 2 : 9;
    if (n <= COALESCE_FRAME_BYTES) {
      runBytes += n;
      continue;
    }
    out.push(encodeRun(frames, runStart, i, runBytes, last));
    out.push(asBuffer(frames[i]));
    runStart = i + 1;
    runBytes = 0;
  }
  if (runBytes > 0) out.push(encodeRun(frames, runStart, last + 1, runBytes, last));
  return out;
}

/**
 * Frames `from` to `end - 1` (small: header and body) and, when `end` is a frame (a large one),
 * its header alone, in one buffer of `bytes` bytes.
 */
function encodeRun(frames: readonly Uint8Array[], from: number, end: number, bytes: number, last: number): Buffer {
  const buf = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (let i = from; i <= end && i <= last; i++) {
    const f = frames[i];
    const n = f.byteLength;
    const more = i < last ? FLAG_MORE : 0;
    if (n <= 255) {
      buf[at++] = more;
      buf[at++] = n;
    } else {
      buf[at] = more | FLAG_LONG;
      buf.writeUInt32BE(Math.floor(n / 2 ** 32), at + 1);
      buf.writeUInt32BE(n >>> 0, at + 5);
      at += 9;
    }
    if (i === end) break; // the large frame: its body is written by reference
    buf.set(f, at);
    at += n;
  }
  return buf;
}

function asBuffer(f: Uint8Array): Buffer {
  return Buffer.isBuffer(f) ? f : Buffer.from(f.buffer, f.byteOffset, f.byteLength);
}
