/**
 * The ZMTP 3.x greeting (RFC 23 §"Greeting", RFC 37): 64 bytes, sent by both sides first. We
 * speak 3.1 and accept 3.0 peers (both send the same greeting apart from the minor version); the
 * only mechanism is NULL, since the add-on uses no ZeroMQ security.
 */

/** Length of a ZMTP 3.x greeting. */
export const GREETING_BYTES = 64;

/** Bytes up to and including the major version: enough to refuse a ZMTP 1.0/2.0 peer early. */
export const GREETING_VERSION_END = 11;

const SIGNATURE_FIRST = 0xff;
const SIGNATURE_LAST_BIT = 0x01;
const MECHANISM_OFFSET = 12;
const MECHANISM_BYTES = 20;
const AS_SERVER_OFFSET = 32;

/** The only security mechanism we speak. */
export const NULL_MECHANISM = 'NULL';

export interface PeerGreeting {
  readonly major: number;
  readonly minor: number;
  readonly mechanism: string;
  readonly asServer: boolean;
}

/** Why a greeting was refused (stable codes; the text goes in the log line). */
export type GreetingErrorCode = 'ZMTP_SIGNATURE' | 'ZMTP_VERSION' | 'ZMTP_MECHANISM';

export interface GreetingError {
  readonly code: GreetingErrorCode;
  readonly reason: string;
}

/** Our greeting: version 3.1, NULL mechanism, as-server 0 (NULL ignores it; libzmq sends 0 too). */
export function encodeGreeting(minor = 1): Buffer {
  const g = Buffer.alloc(GREETING_BYTES);
  g[0] = SIGNATURE_FIRST;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = minor;
  g.write(NULL_MECHANISM, MECHANISM_OFFSET, 'latin1');
  return g;
}

/**
 * Checks the first bytes of a peer's greeting as soon as they arrive (`head` may be shorter than
 * 64 bytes): a peer speaking ZMTP 1.0 or 2.0, or no ZMTP at all, is refused after 11 bytes
 * instead of waiting for bytes it will never send. Null when nothing is wrong so far.
 */
export function checkGreetingHead(head: Buffer): GreetingError | null {
  if (head.length >= 1 && head[0] !== SIGNATURE_FIRST) {
    return { code: 'ZMTP_SIGNATURE', reason: 'not a ZMTP 3 greeting (first byte is not 0xFF)' };
  }
  if (head.length >= 10 && (head[9] & SIGNATURE_LAST_BIT) === 0) {
    return { code: 'ZMTP_SIGNATURE', reason: 'ZMTP 1.0 peer (signature without the version flag)' };
  }
  if (head.length >= GREETING_VERSION_END && head[10] < 3) {
    return { code: 'ZMTP_VERSION', reason: `ZMTP major version ${head[10]} is not supported (3.0 and 3.1 are)` };
  }
  return null;
}

/** Parses a complete 64-byte greeting; the mechanism must be NULL. */
export function parseGreeting(g: Buffer): PeerGreeting | GreetingError {
  const early = checkGreetingHead(g);
  if (early !== null) return early;
  const raw = g.subarray(MECHANISM_OFFSET, MECHANISM_OFFSET + MECHANISM_BYTES);
  const end = raw.indexOf(0);
  const mechanism = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
  const padded = end < 0 || raw.subarray(end).every((b) => b === 0);
  if (mechanism !== NULL_MECHANISM || !padded) {
    return {
      code: 'ZMTP_MECHANISM',
      reason: `security mechanism ${JSON.stringify(mechanism)} is not supported (only NULL)`,
    };
  }
  return { major: g[10], minor: g[11], mechanism, asServer: g[AS_SERVER_OFFSET] === 1 };
}

export function isGreetingError(v: PeerGreeting | GreetingError): v is GreetingError {
  return 'code' in v;
}
