/**
 * Moments as the history tools accept them:
 *
 * - `now`;
 * - relative to now: `-90s`, `-15m`, `-2h`, `-3d`, `-1w`;
 * - ISO 8601: `2025-01-12`, `2025-01-12T14:30`, `2025-01-12 14:30:25`, `2025-01-12T14:30:25.123`,
 *   each optionally with `Z` or an offset (`+01:00`); without one it is local time, as the
 *   backup names and log lines are.
 *
 * Anything else is refused with the accepted forms in the message.
 */
const RELATIVE_RE = /^-(\d+)([smhdw])$/;
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,3})\d*)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export const TIME_FORMS =
  "ISO 8601 ('2025-01-12T14:30:25', local time unless it ends in Z or an offset), 'now', or relative ('-15m', '-2h', '-3d')";

/** Ms since the epoch of `text`, or an error message. */
export function parseMoment(text: string, nowMs: number): number | string {
  const t = text.trim();
  if (t.toLowerCase() === 'now') return nowMs;
  const rel = RELATIVE_RE.exec(t);
  if (rel !== null) return nowMs - Number(rel[1]) * UNIT_MS[rel[2]];
  const m = ISO_RE.exec(t);
  if (m === null) return `'${text}' is not a time: use ${TIME_FORMS}`;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = m;
  const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(frac.padEnd(3, '0'))];
  const [Y, M, D, H, Mi, S, Ms] = parts;
  if (M > 11 || D < 1 || D > 31 || H > 23 || Mi > 59 || S > 59) return `'${text}' is not a valid date and time`;
  let ms: number;
  if (zone === undefined) ms = new Date(Y, M, D, H, Mi, S, Ms).getTime();
  else {
    ms = Date.UTC(Y, M, D, H, Mi, S, Ms);
    if (zone.toUpperCase() !== 'Z') {
      const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone) as RegExpExecArray;
      ms -= (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3])) * 60_000;
    }
  }
  // new Date rolls 2025-02-31 over into March: refuse dates that do not exist.
  const check = zone === undefined ? new Date(ms) : new Date(Date.UTC(Y, M, D));
  if ((zone === undefined ? check.getDate() : check.getUTCDate()) !== D) return `'${text}' is not a valid date`;
  return ms;
}

/** `2025-01-12T14:30:25.123` in local time (as the tools print moments). */
export function formatMoment(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
  );
}
