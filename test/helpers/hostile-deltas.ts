/**
 * Commit deltas an attacker sends, taken from delta/refusals.jsonl (made with the real deepdiff
 * 8.1.1, which on the receiving clients would follow or misread each of them).
 */
import { loadJsonl } from './fixtures.js';

export interface HostileDelta {
  /** What the attack is. */
  readonly name: string;
  readonly bytes: Buffer;
  /** The `DeltaError` code the strict reader refuses it with. */
  readonly code: string;
}

const ATTACKS: readonly (readonly [name: string, descStart: string])[] = [
  ['tuple path to sys.executable', 'tuple-form path towards __init__.__globals__'],
  ['tuple path deepdiff follows', 'tuple-form path (CVE-2025-58367)'],
  ['attribute path', 'attribute step after a subscript'],
  ['dunder key', 'dunder key in a subscript'],
  ['__builtin__.set global', '__builtin__.set at protocol 0'],
  ['unknown report key', 'unknown report key'],
];

export function hostileDeltas(): HostileDelta[] {
  const lines = loadJsonl('delta/refusals.jsonl') as {
    desc: string;
    delta_pickle_b64: string;
    server: { code?: string };
  }[];
  return ATTACKS.map(([name, descStart]) => {
    const line = lines.find((l) => l.desc.startsWith(descStart));
    if (line === undefined || line.server.code === undefined) throw new Error(`no refusal fixture "${descStart}"`);
    return { name, bytes: Buffer.from(line.delta_pickle_b64, 'base64'), code: line.server.code };
  });
}
