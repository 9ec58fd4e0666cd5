/**
 * A protocol 4 pickle written piece by piece, for output too big to build in one buffer (a
 * session snapshot of a gigabyte). The caller writes values and the few structural opcodes that
 * assemble them (MARK … LIST, MARK … APPENDS onto a list written earlier), and takes the output
 * as it goes: `take()` hands out the committed frames, so at most about one frame (64 KiB) plus
 * the value being written is held here, and a bytes payload of 64 KiB or more is handed out as a
 * view of the caller's memory, never copied.
 *
 * Values go through the same walker, memo and framing as `encodePickle`: a stream holding one
 * `value(v)` is byte-identical to `encodePickle(v)`. Frames are cut (CPython's opcode boundary)
 * before each value and at `boundary()`; the structural writers keep their opcode in the
 * current frame, as CPython does for MARK, APPENDS and the like.
 */
import { Encoder } from './encode.js';
import { pickleError } from './errors.js';
import { APPENDS, LIST, MARK, NONE, POP } from './opcodes.js';
import type { PyValue } from './value.js';

export class PickleStream {
  private readonly e = new Encoder(true);
  private ended = false;

  /** Starts the pickle (PROTO 4 and the first frame). */
  constructor() {
    this.e.w.begin();
  }

  /** A value, as `encodePickle` writes it (memoized, so it can be fetched later with `get`). */
  value(v: PyValue): void {
    this.open();
    this.e.section(() => this.e.save(v));
  }

  /**
   * A bytes value that is not memoized (it is never fetched again: each node chunk of a
   * snapshot). 64 KiB or more goes outside any frame, as a view of `v`.
   */
  bytes(v: Uint8Array): void {
    this.open();
    const w = this.e.w;
    w.boundary();
    w.bytes(v);
  }

  /** Pushes the object an earlier `value()` wrote (BINGET of its memo slot). */
  get(v: object): void {
    this.open();
    const slot = this.e.slotOf(v);
    if (slot === undefined) throw pickleError('PICKLE_UNENCODABLE', 'get() of an object this stream has not written');
    this.e.w.get(slot);
  }

  /** MARK: the start of the items of a `list()` or `appends()`. */
  mark(): void {
    this.op(MARK);
  }

  /** LIST: a new list of the items since the last mark (not memoized). */
  list(): void {
    this.op(LIST);
  }

  /** APPENDS: the items since the last mark appended to the list below the mark. */
  appends(): void {
    this.op(APPENDS);
  }

  /** NONE, within the current frame (unlike `value(null)`, never preceded by a frame cut). */
  none(): void {
    this.op(NONE);
  }

  /** POP: drops the top of the stack. */
  pop(): void {
    this.op(POP);
  }

  /** Cuts the frame here if it has reached the target size (call it between items). */
  boundary(): void {
    this.open();
    this.e.w.boundary();
  }

  /** Ends the current frame even if it is small, and opens the next. */
  endFrame(): void {
    this.open();
    this.e.w.endFrame();
  }

  /** The output completed so far, in order (possibly none). */
  take(): Buffer[] {
    this.open();
    return this.e.w.take();
  }

  /**
   * STOP and the rest of the output: the top of the stack is the pickle's value. After this,
   * every method throws.
   */
  end(): Buffer[] {
    this.open();
    this.ended = true;
    const head = this.e.w.take();
    const rest = this.e.w.finish();
    return head.concat(rest);
  }

  private op(code: number): void {
    this.open();
    this.e.w.byte(code);
  }

  private open(): void {
    if (this.ended) throw new Error('pickle stream already ended');
  }
}
