/**
 * One `base + Delta(bytes)` as the server performs it, reported as a value: where it failed
 * (`decode` = `Delta(bytes)` raised, `apply` = `+` raised) instead of an exception.
 */
import { applyDelta, decodeDelta, type Delta } from '../../delta/index.js';
import type { PyValue } from '../../pickle/index.js';
import { describeError } from './result.js';

export type StepResult =
  | { readonly ok: true; readonly value: PyValue; readonly problems: readonly string[] }
  | { readonly ok: false; readonly stage: 'decode' | 'apply'; readonly detail: string };

export function applyDeltaBytes(base: PyValue, deltaBytes: Uint8Array): StepResult {
  let delta: Delta;
  try {
    delta = decodeDelta(deltaBytes);
  } catch (err) {
    return { ok: false, stage: 'decode', detail: describeError(err) };
  }
  try {
    const { value, problems } = applyDelta(base, delta);
    return { ok: true, value, problems };
  } catch (err) {
    return { ok: false, stage: 'apply', detail: describeError(err) };
  }
}
