/**
 * What every fixture checker returns, and the small helpers they share. Checkers are pure: a
 * fixture record in, a verdict out; only check-fixtures.ts reads files and starts processes.
 */
import { toView, viewsEqual, type View, type PyValue } from '../../pickle/index.js';

/** One fixture case's verdict. `detail` says what differed when it failed. */
export interface CaseResult {
  readonly id: string;
  readonly ok: boolean;
  readonly detail?: string;
}

/** A parsed JSONL line. Fields are read through the accessors below, which refuse wrong types. */
export type FixtureRecord = Readonly<Record<string, unknown>>;

/** Thrown by a checker for a mismatch; any other exception is reported with its type. */
export class CheckFailure extends Error {}

export function fail(detail: string): never {
  throw new CheckFailure(detail);
}

export function check(condition: boolean, detail: string): asserts condition {
  if (!condition) fail(detail);
}

/** Runs one check; whatever it throws becomes a failed verdict, never an escaped exception. */
export function runCase(id: string, body: () => void): CaseResult {
  try {
    body();
    return { id, ok: true };
  } catch (err) {
    return { id, ok: false, detail: describeError(err) };
  }
}

export function describeError(err: unknown): string {
  if (err instanceof CheckFailure) return err.message;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${typeof code === 'string' ? ` ${code}` : ''}: ${err.message}`;
  }
  return String(err);
}

/** The record's `id`, or the fallback (e.g. `line 12`) for records without one (captures). */
export function recordId(record: FixtureRecord, fallback: string): string {
  return typeof record.id === 'string' ? record.id : fallback;
}

export function str(record: FixtureRecord, field: string): string {
  const v = record[field];
  if (typeof v !== 'string') fail(`fixture field ${field} is not a string`);
  return v;
}

export function bytesField(record: FixtureRecord, field: string): Uint8Array {
  return new Uint8Array(Buffer.from(str(record, field), 'base64'));
}

/** Compares a decoded value with an expected view (pyview `views_equal` semantics). */
export function checkView(actual: PyValue, expected: unknown, what: string): void {
  const view = toView(actual);
  if (!viewsEqual(view, expected as View)) {
    fail(`${what}: got ${clip(JSON.stringify(view))}, expected ${clip(JSON.stringify(expected))}`);
  }
}

export function clip(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
