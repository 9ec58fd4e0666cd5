/**
 * What node data we accept before storing or relaying it. The stock client loads node data with
 * the unrestricted `pickle.loads` (§2.4), so a node pickle naming a global would run code on every
 * client we relay it to (capture 10_untrusted_pickle shows the reference executing one), and one
 * that stores into the memo at index 2^28 makes every client allocate 4 GB. Node data must
 * therefore be a plain pickle, cheap for the client's unpickler, of a dict (the add-on's dumpers
 * always produce one, §5.1).
 *
 * The server never reads node data to relay or store it, so `validateNodeData` only scans it
 * (pickle/scan.ts: one pass, nothing built). `checkNodeData` also decodes it, for the one place
 * that must read it: applying a Commit.
 */
import { decodePickle, scanPlainPickle, PyDict } from '../pickle/index.js';
import { findNonPlain } from '../protocol/index.js';
import type { SessionContext } from './context.js';

/** Whether node data may be stored and relayed, or why not. */
export type NodeDataVerdict = { ok: true } | { ok: false; reason: string };

/** The decoded node data, or a reason to refuse it. */
export type NodeDataCheck = { ok: true; value: PyDict } | { ok: false; reason: string };

function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return `node data refused: ${typeof code === 'string' ? code + ': ' : ''}${(err as Error).message}`;
}

type PickleBounds = SessionContext['limits']['pickle'];

/** The last lowered bounds made, reused while the session's bounds and the lowering stay the same. */
let lowered: { base: PickleBounds; maxContainers: number; limits: PickleBounds } | undefined;

/**
 * The session's pickle bounds, with `maxContainers` lowered when given. The same object for the
 * same inputs: the pickle codecs merge each limits object once, not once per Commit.
 */
function limitsOf(ctx: SessionContext, maxContainers: number | undefined): PickleBounds {
  if (maxContainers === undefined) return ctx.limits.pickle;
  let l = lowered;
  if (l === undefined || l.base !== ctx.limits.pickle || l.maxContainers !== maxContainers) {
    l = { base: ctx.limits.pickle, maxContainers, limits: { ...ctx.limits.pickle, maxContainers } };
    lowered = l;
  }
  return l.limits;
}

/**
 * Scans node data bytes by the receiving client's rules, building nothing. `maxContainers`, when
 * given, lowers the container bound (Commit application). Never throws.
 */
export function validateNodeData(ctx: SessionContext, dataBytes: Uint8Array, maxContainers?: number): NodeDataVerdict {
  try {
    const scan = scanPlainPickle(dataBytes, limitsOf(ctx, maxContainers));
    if (scan.kind !== 'dict') return { ok: false, reason: 'node data is not a dict' };
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: reasonOf(err) };
  }
}

/**
 * Scans, then decodes node data bytes (for Commit application). `maxContainers`, when given,
 * refuses a node holding more containers before anything is decoded. Never throws.
 */
export function checkNodeData(ctx: SessionContext, dataBytes: Uint8Array, maxContainers?: number): NodeDataCheck {
  const verdict = validateNodeData(ctx, dataBytes, maxContainers);
  if (!verdict.ok) return verdict;
  try {
    const value = decodePickle(dataBytes, {
      limits: limitsOf(ctx, maxContainers),
      allowGlobal: () => false,
      allowPersistentIds: false,
    });
    if (!(value instanceof PyDict)) return { ok: false, reason: 'node data is not a dict' };
    const bad = findNonPlain(value);
    if (bad !== undefined) return { ok: false, reason: `node data refused: pickle holds ${bad}` };
    return { ok: true, value };
  } catch (err) {
    return { ok: false, reason: reasonOf(err) };
  }
}

/** Whether one more node fits in the store (`maxNodes`). */
export function hasRoomForNode(ctx: SessionContext): boolean {
  return ctx.store.size < ctx.limits.maxNodes;
}
