/**
 * ZMTP commands (RFC 23 §"Commands", RFC 37 for PING/PONG): a command frame's body is a 1-byte
 * name length, the name, then command data. READY and ERROR are the NULL mechanism's handshake;
 * PING/PONG keep a connection alive. Pure: bytes in, values out; every length is checked against
 * what is left before it is used.
 */

export const READY = 'READY';
export const ERROR = 'ERROR';
export const PING = 'PING';
export const PONG = 'PONG';

/** RFC 37: a PING context is at most 16 bytes, echoed in the PONG. */
export const MAX_PING_CONTEXT_BYTES = 16;

/** libzmq's routing ids are at most 255 bytes (a ROUTER prefixes them as one frame). */
export const MAX_IDENTITY_BYTES = 255;

export type CommandErrorCode = 'ZMTP_MALFORMED_COMMAND';

export interface CommandError {
  readonly code: CommandErrorCode;
  readonly reason: string;
}

export interface Command {
  readonly name: string;
  readonly data: Buffer;
}

const malformed = (reason: string): CommandError => ({ code: 'ZMTP_MALFORMED_COMMAND', reason });

export function isCommandError(v: unknown): v is CommandError {
  return typeof v === 'object' && v !== null && 'code' in v && 'reason' in v;
}

/** Splits a command body into name and data. */
export function parseCommand(body: Buffer): Command | CommandError {
  if (body.length < 1) return malformed('empty command');
  const nameLength = body[0];
  if (nameLength === 0) return malformed('command with an empty name');
  if (1 + nameLength > body.length) return malformed('command name runs past the frame');
  return { name: body.toString('latin1', 1, 1 + nameLength), data: body.subarray(1 + nameLength) };
}

/** Command body: name length, name, data. */
export function encodeCommandBody(name: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const n = Buffer.from(name, 'latin1');
  return Buffer.concat([Buffer.from([n.length]), n, data]);
}

/**
 * Metadata properties (READY): each is a 1-byte name length, the name, a 4-byte big-endian value
 * length and the value. Names compare case-insensitively (RFC 23); the map keys are lowercased.
 */
export function parseProperties(data: Buffer): Map<string, Buffer> | CommandError {
  const props = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    const nameLength = data[at];
    if (nameLength === 0) return malformed('property with an empty name');
    if (at + 1 + nameLength + 4 > data.length) return malformed('property header runs past the command');
    const name = data.toString('latin1', at + 1, at + 1 + nameLength).toLowerCase();
    at += 1 + nameLength;
    const valueLength = data.readUInt32BE(at);
    at += 4;
    if (valueLength > data.length - at) return malformed(`property ${name} runs past the command`);
    props.set(name, data.subarray(at, at + valueLength));
    at += valueLength;
  }
  return props;
}

export function encodeProperties(props: ReadonlyArray<readonly [string, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of props) {
    const n = Buffer.from(name, 'latin1');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(value.length);
    parts.push(Buffer.from([n.length]), n, len, value);
  }
  return Buffer.concat(parts);
}

/** Our READY: `Socket-Type` and, as libzmq's ROUTER does, our own `Identity` (may be empty). */
export function encodeReadyBody(socketType: string, identity: Buffer): Buffer {
  return encodeCommandBody(
    READY,
    encodeProperties([
      ['Socket-Type', Buffer.from(socketType, 'latin1')],
      ['Identity', identity],
    ]),
  );
}

/** ERROR: a 1-byte reason length and the reason (cut to 255 bytes). */
export function encodeErrorBody(reason: string): Buffer {
  const r = Buffer.from(reason, 'latin1').subarray(0, 255);
  return encodeCommandBody(ERROR, Buffer.concat([Buffer.from([r.length]), r]));
}

/** PING data: a 2-byte TTL (tenths of a second; unused by a server) and a context of 0–16 bytes. */
export function parsePing(data: Buffer): { ttl: number; context: Buffer } | CommandError {
  if (data.length < 2) return malformed('PING without a TTL');
  const context = data.subarray(2);
  if (context.length > MAX_PING_CONTEXT_BYTES) return malformed(`PING context of ${context.length} bytes (max 16)`);
  return { ttl: data.readUInt16BE(0), context };
}

export function encodePongBody(context: Buffer): Buffer {
  return encodeCommandBody(PONG, context);
}

export function encodePingBody(ttl: number, context: Buffer = Buffer.alloc(0)): Buffer {
  const t = Buffer.alloc(2);
  t.writeUInt16BE(ttl);
  return encodeCommandBody(PING, Buffer.concat([t, context]));
}

/** The socket types a ROUTER may talk to (RFC 28 / libzmq `mechanism_t::check_socket_type`). */
export const ROUTER_PEER_TYPES: ReadonlySet<string> = new Set(['DEALER', 'REQ', 'ROUTER']);
