/**
 * Tells whether a captured session has the same content as the one saved last, so that a save
 * with nothing new writes nothing: no snapshot, no backup, no metadata (a probe's login and
 * logout, a disconnect after an unchanged session, a clean stop right after a save). Two
 * consecutive backups therefore never hold the same content.
 *
 * Cheap at any session size, and it keeps no node data alive: node byte arrays are never
 * modified in place (a Commit replaces them), so each array gets a serial number in a WeakMap and
 * a node is compared by uuid, owner and the serials of its dependency and data arrays. The rest
 * of the image (users, chat, tasks, flags) is small and bounded: it is pickled and hashed. A node
 * whose bytes were replaced by equal bytes counts as changed (a save too many, never one too few).
 */
import { createHash } from 'node:crypto';

import { encodePickle, type PyValue } from '../pickle/index.js';
import type { SessionImage } from './session-image.js';

/** What a save is compared by. Opaque outside this module. */
export interface ImageFingerprint {
  readonly nodes: readonly (string | number)[];
  readonly rest: string;
}

export class ImageFingerprinter {
  private readonly serials = new WeakMap<Uint8Array, number>();
  private next = 1;

  private serialOf(bytes: Uint8Array): number {
    let n = this.serials.get(bytes);
    if (n === undefined) {
      n = this.next++;
      this.serials.set(bytes, n);
    }
    return n;
  }

  /** The fingerprint of `image` (synchronous; call it on the capture, before the session changes). */
  of(image: SessionImage): ImageFingerprint {
    const nodes: (string | number)[] = new Array<string | number>(image.nodes.length * 4);
    let i = 0;
    for (const n of image.nodes) {
      nodes[i++] = n.uuid;
      nodes[i++] = n.owner;
      nodes[i++] = this.serialOf(n.depsBytes);
      nodes[i++] = this.serialOf(n.dataBytes);
    }
    const rest: PyValue[] = [image.users, image.initialized, image.chat, image.tasks, image.extra ?? null];
    return { nodes, rest: createHash('sha256').update(encodePickle(rest)).digest('hex') };
  }
}

/** Whether two fingerprints describe the same content. */
export function sameFingerprint(a: ImageFingerprint | null, b: ImageFingerprint): boolean {
  if (a === null || a.rest !== b.rest || a.nodes.length !== b.nodes.length) return false;
  for (let i = 0; i < a.nodes.length; i++) if (a.nodes[i] !== b.nodes[i]) return false;
  return true;
}
