/** LONG1 / LONG4 payloads: little-endian two's complement integers of any width. */
import { pyInt } from './value.js';

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** The int in `n` bytes at `start` (`n` already checked against the input). Zero bytes is 0 (plain-1538). */
export function readLong(b: Uint8Array, dv: DataView, start: number, n: number): bigint {
  if (n <= 6) {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + b[start + i];
    if (n > 0 && b[start + n - 1] & 0x80) v -= 2 ** (8 * n);
    return pyInt(v);
  }
  if (n === 8) return dv.getBigInt64(start, true);
  let hex = '';
  for (let i = n - 1; i >= 0; i--) hex += HEX[b[start + i]];
  let v = BigInt('0x' + hex);
  if (b[start + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
  return v;
}
