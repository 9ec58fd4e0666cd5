/**
 * Heartbeat messages on port P+2 (§1.3, §4.13): single frames of 4 ASCII bytes, not pickles.
 * The reference answers INIT with a PING and treats any other single frame from a watched
 * identity as a sign of life; a multi-frame message stops its heartbeat thread for good
 * (crash: ttl_two_frames), so it is refused here instead.
 */
import { HEARTBEAT_INIT, HEARTBEAT_PING, HEARTBEAT_PONG } from './constants.js';
import { protocolError } from './errors.js';

/** What a heartbeat frame says. `OTHER` is any other content (still a sign of life, §4.13). */
export type HeartbeatKind = typeof HEARTBEAT_INIT | typeof HEARTBEAT_PING | typeof HEARTBEAT_PONG | 'OTHER';

/** Longest heartbeat frame accepted; the real ones are 4 bytes. */
export const MAX_HEARTBEAT_FRAME_BYTES = 64;

const FRAMES: Readonly<Record<string, Buffer>> = {
  [HEARTBEAT_INIT]: Buffer.from(HEARTBEAT_INIT, 'latin1'),
  [HEARTBEAT_PING]: Buffer.from(HEARTBEAT_PING, 'latin1'),
  [HEARTBEAT_PONG]: Buffer.from(HEARTBEAT_PONG, 'latin1'),
};

/**
 * Classifies a heartbeat message. Throws `ProtocolError` `PROTOCOL_FRAME_COUNT` unless it is
 * exactly one frame, `PROTOCOL_FRAME_SIZE` when that frame is longer than 64 bytes.
 */
export function decodeHeartbeat(frames: readonly Uint8Array[]): HeartbeatKind {
  if (frames.length !== 1) throw protocolError('PROTOCOL_FRAME_COUNT', `heartbeat of ${frames.length} frames`);
  const frame = frames[0];
  if (frame.length > MAX_HEARTBEAT_FRAME_BYTES) {
    throw protocolError('PROTOCOL_FRAME_SIZE', `heartbeat frame of ${frame.length} bytes`, 0);
  }
  for (const kind of [HEARTBEAT_INIT, HEARTBEAT_PING, HEARTBEAT_PONG] as const) {
    if (FRAMES[kind].equals(frame)) return kind;
  }
  return 'OTHER';
}

/** The one frame of a heartbeat message. Shared Buffers: never write into them. */
export function encodeHeartbeat(kind: Exclude<HeartbeatKind, 'OTHER'>): Buffer[] {
  return [FRAMES[kind]];
}
