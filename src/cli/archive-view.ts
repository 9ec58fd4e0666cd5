/**
 * Text views of the session's chat log and task board for the shell's `chat` and `tasks`
 * commands. Messages and tasks are the add-on's own dicts (REPLICATION-PROTOCOL.md §7.2, §7.3),
 * read defensively: a field of the wrong type shows as empty rather than failing the command.
 */
import { PyDict, type PyValue } from '../pickle/index.js';

function field(d: PyValue, key: string): string {
  if (!(d instanceof PyDict)) return '';
  const v = d.get(key);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return '';
}

function clock(seconds: string): string {
  const t = Number(seconds);
  if (!Number.isFinite(t) || seconds === '') return '--:--:--';
  const d = new Date(t * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** The last `count` archived chat messages, oldest first: `HH:MM:SS name: text`. */
export function formatChat(chat: readonly PyValue[], count: number): string {
  if (chat.length === 0) return 'no chat messages\n';
  const shown = chat.slice(-count);
  const lines = shown.map(
    (m) => `${clock(field(m, 'timestamp'))} ${field(m, 'username')}: ${field(m, 'message').replace(/\s+/g, ' ')}`,
  );
  const more = chat.length > shown.length ? `(${chat.length - shown.length} earlier, 'chat N' shows more)\n` : '';
  return more + lines.join('\n') + '\n';
}

/** The task board: status, assignee, title, creator. */
export function formatTasks(tasks: PyDict): string {
  if (tasks.size === 0) return 'no tasks\n';
  const rows = [...tasks.values()].map((t) => [
    field(t, 'status'),
    field(t, 'assigned_to') || '-',
    field(t, 'title'),
    field(t, 'created_by'),
  ]);
  const header = ['status', 'assigned to', 'title', 'created by'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
