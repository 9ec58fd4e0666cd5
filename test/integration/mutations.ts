/**
 * Seeded mutations of captured client messages, for the fuzz test: the seeds are real frames of
 * the reference client (every client→server message of every capture, deduplicated), and each
 * mutation keeps most of a message intact so that the decoders get deep before something is off.
 */
import { typeFrame } from '../../src/protocol/index.js';
import type { Channel } from '../../src/session/index.js';
import { framesOf, loadCapture } from './replay.js';

export interface Seed {
  readonly channel: Channel;
  readonly type: number | null;
  readonly frames: readonly Buffer[];
}

const CAPTURES = [
  '01_main_session',
  '02_lobby_join',
  '03_auth_spwd_none',
  '04_auth_spwd_secret',
  '05_auth_spwd_empty',
  '06_raw_protocol_paths',
  '07_heartbeat_timeout',
  '08_lock_leak',
  '09_unauthenticated_and_unchecked',
  '10_untrusted_pickle',
  '11_command_thread_crash',
];

/** Every distinct client→server message of the captures, with the socket it was sent on. */
export function captureSeeds(): Seed[] {
  const seen = new Set<string>();
  const seeds: Seed[] = [];
  for (const name of CAPTURES) {
    for (const r of loadCapture(name).records) {
      if (r.dir !== 'c2s') continue;
      const key = `${r.socket}:${r.frames_b64.join(',')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      seeds.push({ channel: r.socket === 'ttl' ? 'heartbeat' : r.socket, type: r.type_num, frames: framesOf(r) });
    }
  }
  return seeds;
}

type Rand = () => number;
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)];
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);

/**
 * Pickle opcodes followed by a length, with the length's size: FRAME, BINUNICODE8, BINBYTES8 (8),
 * BINUNICODE, BINBYTES, LONG4 (4), SHORT_BINUNICODE, SHORT_BINBYTES, LONG1 (1).
 */
const LENGTH_OPCODES = new Map<number, number>([
  [0x95, 8],
  [0x8d, 8],
  [0x8e, 8],
  [0x58, 4],
  [0x42, 4],
  [0x8b, 4],
  [0x8c, 1],
  [0x43, 1],
  [0x8a, 1],
]);

/** Overwrites the length after a length-carrying opcode byte with a huge (or all-ones) value. */
function inflateLength(rand: Rand, frame: Buffer): Buffer {
  const spots: number[] = [];
  for (let i = 0; i < frame.length; i++) if (LENGTH_OPCODES.has(frame[i])) spots.push(i);
  if (spots.length === 0) return frame;
  const out = Buffer.from(frame);
  const at = pick(rand, spots);
  const size = LENGTH_OPCODES.get(out[at]) as number;
  for (let k = 1; k <= size && at + k < out.length; k++) out[at + k] = k === size && rand() < 0.5 ? 0x7f : 0xff;
  return out;
}

function flipBits(rand: Rand, frame: Buffer): Buffer {
  if (frame.length === 0) return Buffer.from([int(rand, 256)]);
  const out = Buffer.from(frame);
  for (let n = 1 + int(rand, 8); n > 0; n--) out[int(rand, out.length)] ^= 1 << int(rand, 8);
  return out;
}

function randomFrame(rand: Rand): Buffer {
  const b = Buffer.alloc(int(rand, 64));
  for (let i = 0; i < b.length; i++) b[i] = int(rand, 256);
  return b;
}

export type MutationName =
  | 'flip'
  | 'truncate'
  | 'drop-frame'
  | 'duplicate-frame'
  | 'swap-frames'
  | 'huge-length'
  | 'splice'
  | 'retype'
  | 'empty-frame';

const MUTATIONS: readonly MutationName[] = [
  'flip',
  'truncate',
  'drop-frame',
  'duplicate-frame',
  'swap-frames',
  'huge-length',
  'splice',
  'retype',
  'empty-frame',
];

/** One mutation applied to a copy of `frames`. */
function mutateOnce(rand: Rand, name: MutationName, frames: Buffer[], seeds: readonly Seed[]): Buffer[] {
  const out = [...frames];
  if (out.length === 0) return [randomFrame(rand)];
  const i = int(rand, out.length);
  switch (name) {
    case 'flip':
      out[i] = flipBits(rand, out[i]);
      break;
    case 'truncate':
      out[i] = out[i].subarray(0, int(rand, out[i].length + 1));
      break;
    case 'drop-frame':
      out.splice(i, 1);
      break;
    case 'duplicate-frame':
      out.splice(i, 0, out[i]);
      break;
    case 'swap-frames': {
      const j = int(rand, out.length);
      [out[i], out[j]] = [out[j], out[i]];
      break;
    }
    case 'huge-length':
      out[i] = inflateLength(rand, out[i]);
      break;
    case 'splice': {
      const other = pick(rand, seeds).frames;
      if (other.length > 0) out[i] = other[int(rand, other.length)];
      break;
    }
    case 'retype':
      out[0] = typeFrame((1 + int(rand, 14)) as Parameters<typeof typeFrame>[0]);
      break;
    case 'empty-frame':
      out[i] = Buffer.alloc(0);
      break;
  }
  return out;
}

export interface FuzzMessage {
  readonly channel: Channel;
  readonly frames: Buffer[];
  readonly mutations: readonly MutationName[];
}

/** Share of seeds taken per socket: the data socket has few captured messages but matters most. */
const SOCKET_WEIGHTS: readonly [Channel, number][] = [
  ['command', 0.55],
  ['data', 0.3],
  ['heartbeat', 0.15],
];

/**
 * A mutated seed: 1–3 mutations; the captured socket most of the time, another one sometimes
 * (a command on the heartbeat socket, a Node on the command socket); 1 in 20 is random frames.
 * `seeds` must hold seeds of every socket.
 */
export function mutatedMessage(rand: Rand, seeds: readonly Seed[]): FuzzMessage {
  const channels: Channel[] = ['command', 'data', 'heartbeat'];
  if (rand() < 0.05) {
    const frames = Array.from({ length: 1 + int(rand, 5) }, () => randomFrame(rand));
    return { channel: pick(rand, channels), frames, mutations: [] };
  }
  let r = rand();
  const socket = SOCKET_WEIGHTS.find(([, w]) => (r -= w) < 0)?.[0] ?? 'command';
  const seed = pick(
    rand,
    seeds.filter((s) => s.channel === socket),
  );
  const mutations: MutationName[] = Array.from({ length: 1 + int(rand, 3) }, () => pick(rand, MUTATIONS));
  let frames = [...seed.frames];
  for (const m of mutations) frames = mutateOnce(rand, m, frames, seeds);
  const channel = rand() < 0.85 ? seed.channel : pick(rand, channels);
  return { channel, frames, mutations };
}
