/**
 * `multiuser-server history`: who changed what and when (docs/history.md).
 *
 * - `history [--since T] [--until T] [--user U] [--node UUID|NAME] [--limit N] [--page N] [--json]`
 *   lists changes oldest first, one page at a time: it reads segments in order from the first
 *   one that can hold `--since` and stops once the page is full, so the first page of a long
 *   history costs one segment's read, not the whole history.
 * - `history diff T1 T2`: nodes added, removed and changed between two moments, with their type,
 *   name and who changed them.
 *
 * Read-only and without the data-dir lock: it works while the server runs.
 */
import type { SessionImageNode } from '../session/index.js';
import { type DataIo, EXIT_FAIL, EXIT_OK, EXIT_USAGE, parseDataArgs, sessionOptionsOf } from './data-command.js';
import { describeBreak, HistoryGapError, HistoryReader, nodeTypeAndName, type HistoryEntry } from './history-read.js';
import { formatMoment, parseMoment } from './history-time.js';

export const HISTORY_USAGE =
  'usage: multiuser-server history [--since T] [--until T] [--user U] [--node UUID|NAME] [--limit N] [--page N] [--json] [--data-dir DIR]\n' +
  '       multiuser-server history diff T1 T2 [--json] [--data-dir DIR]\n';

/** Changes per page unless `--limit`. */
export const DEFAULT_HISTORY_PAGE = 100;
const MAX_HISTORY_PAGE = 100_000;

const FLAGS = {
  '--since': 'value',
  '--until': 'value',
  '--user': 'value',
  '--node': 'value',
  '--limit': 'value',
  '--page': 'value',
  '--json': 'bool',
} as const;

export async function runHistory(argv: readonly string[], io: DataIo): Promise<number> {
  const isDiff = argv[0] === 'diff';
  const args = parseDataArgs(
    isDiff ? argv.slice(1) : argv,
    io,
    FLAGS,
    isDiff ? { min: 2, max: 2 } : { min: 0, max: 0 },
  );
  const usage = (text: string): number => {
    io.stderr.write(`multiuser-server history: ${text}\n${HISTORY_USAGE}`);
    return EXIT_USAGE;
  };
  if (typeof args === 'string') return usage(args);
  const now = (io.now ?? Date.now)();
  const time = (flag: string): number | null | string => {
    const v = args.flags.get(flag);
    if (typeof v !== 'string') return null;
    const ms = parseMoment(v, now);
    return typeof ms === 'string' ? `${flag}: ${ms}` : ms;
  };
  const count = (flag: string, dflt: number, max: number): number | string => {
    const v = args.flags.get(flag);
    if (typeof v !== 'string') return dflt;
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    return Number.isSafeInteger(n) && n >= 1 && n <= max
      ? n
      : `${flag} must be an integer from 1 to ${max}, got '${v}'`;
  };
  const options = sessionOptionsOf(args.config);
  const reader = await HistoryReader.open(args.dataDir, options);
  const json = args.flags.has('--json');

  if (isDiff) {
    const t1 = parseMoment(args.positionals[0], now);
    const t2 = parseMoment(args.positionals[1], now);
    if (typeof t1 === 'string') return usage(`T1: ${t1}`);
    if (typeof t2 === 'string') return usage(`T2: ${t2}`);
    if (t2 < t1) return usage('T2 is before T1');
    return runDiff(reader, t1, t2, json, io);
  }

  const since = time('--since');
  const until = time('--until');
  if (typeof since === 'string') return usage(since);
  if (typeof until === 'string') return usage(until);
  if (since !== null && until !== null && until < since) return usage('--until is before --since');
  const limit = count('--limit', DEFAULT_HISTORY_PAGE, MAX_HISTORY_PAGE);
  const page = count('--page', 1, Number.MAX_SAFE_INTEGER);
  if (typeof limit === 'string') return usage(limit);
  if (typeof page === 'string') return usage(page);
  const user = args.flags.get('--user');
  const node = args.flags.get('--node');

  const skip = (page - 1) * limit;
  let matched = 0;
  const rows: HistoryEntry[] = [];
  let more = false;
  for await (const e of reader.entries(since, until)) {
    if (typeof user === 'string' && e.by !== user) continue;
    if (typeof node === 'string' && !e.uuids.includes(node) && e.name !== node) continue;
    matched++;
    if (matched <= skip) continue;
    if (rows.length === limit) {
      more = true;
      break;
    }
    rows.push(e);
  }
  if (json) {
    io.stdout.write(
      JSON.stringify({
        page,
        limit,
        more,
        changes: rows.map((r) => ({ ...r, at: r.atMs === null ? null : new Date(r.atMs).toISOString() })),
        breaks: reader.breaks.map((b) => ({ ...b, message: describeBreak(b) })),
      }) + '\n',
    );
  } else {
    if (rows.length === 0) {
      io.stdout.write(reader.startMs === null ? 'No history in this data directory yet.\n' : 'No changes match.\n');
    }
    for (const r of rows) io.stdout.write(formatEntry(r) + '\n');
    if (more) io.stdout.write(`… more: --page ${page + 1}\n`);
    for (const b of reader.breaks) io.stdout.write(`!! ${describeBreak(b)}\n`);
  }
  return EXIT_OK;
}

/** One line: time, change id, user, kind, node uuid, type, name. */
export function formatEntry(e: HistoryEntry): string {
  const nodes =
    e.uuids.length === 0 ? '-' : e.uuids.length === 1 ? e.uuids[0] : `${e.uuids[0]} (+${e.uuids.length - 1})`;
  return [
    e.atMs === null ? '(no time)' : formatMoment(e.atMs),
    e.change,
    e.by ?? '-',
    e.kind,
    nodes,
    e.type ?? '-',
    e.name === null ? '-' : JSON.stringify(e.name),
  ].join('  ');
}

interface DiffRow {
  uuid: string;
  type: string | null;
  name: string | null;
  by: string[];
}

async function runDiff(reader: HistoryReader, t1: number, t2: number, json: boolean, io: DataIo): Promise<number> {
  let a;
  let b;
  try {
    a = await reader.reconstruct(await reader.momentAt(t1));
    b = await reader.reconstruct(await reader.momentAt(t2));
  } catch (e) {
    if (!(e instanceof HistoryGapError)) throw e;
    io.stderr.write(`multiuser-server history diff: ${e.message}\n`);
    return EXIT_FAIL;
  }
  const byUuid = new Map<string, Set<string>>();
  for await (const e of reader.entries(t1, t2)) {
    if (e.atMs !== null && e.atMs <= t1) continue;
    for (const u of e.uuids) {
      const set = byUuid.get(u) ?? new Set<string>();
      if (e.by !== null) set.add(e.by);
      byUuid.set(u, set);
    }
  }
  const before = new Map(a.image.nodes.map((n) => [n.uuid, n] as const));
  const after = new Map(b.image.nodes.map((n) => [n.uuid, n] as const));
  const row = (n: SessionImageNode): DiffRow => ({
    uuid: n.uuid,
    ...nodeTypeAndName(n.dataBytes, reader.sessionOptions),
    by: [...(byUuid.get(n.uuid) ?? [])].sort(),
  });
  const added: DiffRow[] = [];
  const removed: DiffRow[] = [];
  const changed: DiffRow[] = [];
  for (const [uuid, n] of after) {
    const old = before.get(uuid);
    if (old === undefined) added.push(row(n));
    else if (!sameNode(old, n)) changed.push(row(n));
  }
  for (const [uuid, n] of before) if (!after.has(uuid)) removed.push(row(n));
  if (json) {
    io.stdout.write(
      JSON.stringify({ from: new Date(t1).toISOString(), to: new Date(t2).toISOString(), added, removed, changed }) +
        '\n',
    );
    return EXIT_OK;
  }
  io.stdout.write(
    `Between ${formatMoment(t1)} and ${formatMoment(t2)}: ${added.length} added, ${removed.length} removed, ` +
      `${changed.length} changed\n`,
  );
  const line = (sign: string, r: DiffRow): string =>
    `${sign} ${r.type ?? '-'}  ${r.name === null ? '-' : JSON.stringify(r.name)}  ${r.uuid}  by ${r.by.length === 0 ? '-' : r.by.join(', ')}\n`;
  for (const r of added) io.stdout.write(line('+', r));
  for (const r of removed) io.stdout.write(line('-', r));
  for (const r of changed) io.stdout.write(line('~', r));
  return EXIT_OK;
}

function sameNode(x: SessionImageNode, y: SessionImageNode): boolean {
  return (
    x.owner === y.owner &&
    Buffer.compare(x.dataBytes, y.dataBytes) === 0 &&
    Buffer.compare(x.depsBytes, y.depsBytes) === 0
  );
}
