/**
 * Which checker a fixture line belongs to, decided by its fields (never by its file name, so
 * fixtures can be renamed, regrouped or mixed): shared/fixtures/README.md and
 * shared/protocol/captures/README.md describe each record format.
 */
import type { FixtureRecord } from './result.js';

export type FixtureKind =
  | 'capture' // a replication message transcript line: frames_b64
  | 'delta-chain' // base + successive steps
  | 'delta-case' // base_pickle_b64 + delta_pickle_b64
  | 'delta-refusal' // a delta case with the server's verdict on it: server
  | 'pickle-encode' // view + python_pickle_b64: our encoder's output is checked by CPython
  | 'pickle-malformed' // pickle_b64 + expect / error
  | 'pickle-opaque' // pickle_b64 + symbolic, opaque
  | 'pickle-plain'; // pickle_b64 + value

export const FIXTURE_KINDS: readonly FixtureKind[] = [
  'capture',
  'delta-chain',
  'delta-case',
  'delta-refusal',
  'pickle-encode',
  'pickle-malformed',
  'pickle-opaque',
  'pickle-plain',
];

/** The kind of a record, or undefined when no checker recognises it. */
export function detectKind(record: FixtureRecord): FixtureKind | undefined {
  const has = (field: string): boolean => record[field] !== undefined;
  if (Array.isArray(record.frames_b64)) return 'capture';
  if (Array.isArray(record.steps) && has('base_pickle_b64')) return 'delta-chain';
  if (has('base_pickle_b64') && has('delta_pickle_b64')) return has('server') ? 'delta-refusal' : 'delta-case';
  if (has('python_pickle_b64') && has('view')) return 'pickle-encode';
  if (has('pickle_b64')) {
    if (has('expect') || typeof record.error === 'boolean') return 'pickle-malformed';
    if (record.opaque === true || (has('symbolic') && !has('value'))) return 'pickle-opaque';
    if (has('value')) return 'pickle-plain';
  }
  return undefined;
}
