/**
 * JSON views of session state for the API: chat messages and tasks are the add-on's own dicts
 * (REPLICATION-PROTOCOL.md §7.2, §7.3), read defensively — a field of the wrong type shows as
 * null or is left out, never fails the request.
 */
import { PyDict, type PyValue } from '../pickle/index.js';
import { pyJsonDumps } from '../session/index.js';

export interface ChatMessageView {
  readonly user: string;
  readonly text: string;
  readonly time: string | null;
}

function text(d: PyDict, key: string): string | null {
  const v = d.get(key);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return null;
}

/** An epoch-seconds value (number or numeric string) as ISO time, else null. */
export function isoFromSeconds(raw: string | null): string | null {
  if (raw === null || raw.trim() === '') return null;
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 0 || s > 1e11) return null;
  return new Date(s * 1000).toISOString();
}

export function chatView(messages: readonly PyValue[]): ChatMessageView[] {
  const out: ChatMessageView[] = [];
  for (const m of messages) {
    if (!(m instanceof PyDict)) continue;
    out.push({
      user: text(m, 'username') ?? '',
      text: text(m, 'message') ?? '',
      time: isoFromSeconds(text(m, 'timestamp')),
    });
  }
  return out;
}

/** A Python value as plain JSON (as the add-on's `json.dumps` would write it), or null when it has none. */
export function jsonOf(v: PyValue): unknown {
  try {
    return JSON.parse(pyJsonDumps(v)) as unknown;
  } catch {
    return null; // NaN/Infinity or a value json cannot hold: not shown
  }
}

export function tasksView(tasks: PyDict): unknown[] {
  const out: unknown[] = [];
  for (const t of tasks.values()) {
    const v = jsonOf(t);
    if (v !== null) out.push(v);
  }
  return out;
}
