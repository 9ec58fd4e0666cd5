/**
 * CRC-32 (IEEE 802.3, the gzip/zlib polynomial), chainable: `crc32(b, crc32(a)) === crc32(a ‖ b)`.
 * Node ≥ 20.15 has `zlib.crc32` (native, ~GB/s); older Node 20 releases get the table version.
 */
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, initial?: number) => number;

let table: Uint32Array | null = null;

function tableCrc32(data: Uint8Array, initial = 0): number {
  if (table === null) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  const t = table;
  let crc = (initial ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = t[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: Crc32 }).crc32;

/** CRC-32 of `data`, continuing from `initial` (the CRC of what came before; 0 to start). */
export const crc32: Crc32 = typeof native === 'function' ? (d, i = 0) => native(d, i) >>> 0 : tableCrc32;

/** The portable implementation, exported so tests can check both agree. */
export const crc32Portable: Crc32 = tableCrc32;
