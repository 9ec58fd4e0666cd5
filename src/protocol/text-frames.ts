/**
 * UTF-8 frames (node id, owner): raw bytes of a str, no prefix, no terminator (§2.2).
 * Python decodes them with the strict `utf-8` codec, which keeps a leading BOM as U+FEFF and
 * refuses encoded surrogates; `TextDecoder` with `fatal` and `ignoreBOM` behaves the same.
 */
import { protocolError } from './errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A lone surrogate: in `u` mode a well-formed pair is one code point and does not match. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Decodes a UTF-8 frame. Throws `ProtocolError` `PROTOCOL_UTF8` for invalid input. */
export function decodeTextFrame(frame: Uint8Array, frameIndex: number): string {
  try {
    return decoder.decode(frame);
  } catch (err) {
    throw protocolError('PROTOCOL_UTF8', 'frame is not valid UTF-8', frameIndex, err);
  }
}

/**
 * Encodes a str as a UTF-8 frame. A string with a lone surrogate has no UTF-8 form (Python's
 * `str.encode()` raises); `Buffer.from` would silently write U+FFFD, so it is refused instead.
 */
export function encodeTextFrame(text: string, frameIndex: number): Buffer {
  if (LONE_SURROGATE.test(text)) {
    throw protocolError('PROTOCOL_UTF8', 'string holds a lone surrogate and has no UTF-8 form', frameIndex);
  }
  return Buffer.from(text, 'utf8');
}
