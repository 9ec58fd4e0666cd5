/**
 * The interactive shell of the reference server (`users`, `kick NAME`, `exit`), plus `save`, `chat`,
 * `tasks` and `help`.
 * Started only when stdin is a TTY: under systemd, Docker or `< /dev/null` the server just runs.
 */
import { createInterface, type Interface } from 'node:readline';

import type { PyDict, PyValue } from '../pickle/index.js';
import { formatChat, formatTasks } from './archive-view.js';

export interface ShellUser {
  readonly name: string;
  readonly admin: boolean;
  readonly latencyMs: number;
  readonly status: string;
  readonly clientId: string;
  /** `IP:port` of the user's command connection, when the server knows it. */
  readonly address?: string;
}

export interface ShellHooks {
  listUsers(): readonly ShellUser[];
  kick(username: string): void;
  /** `save`: request a snapshot now (reason `manual`); the result is logged. */
  save(): void;
  /** `chat` / `tasks`: the session's chat log and task board (kept after their authors leave). */
  archive(): { chat: readonly PyValue[]; tasks: PyDict };
  /** `restore --at T` / `--before CHANGE`: live restore; resolves with what to print. */
  restore?(request: { at?: string; before?: string }): Promise<{ ok: boolean; message: string }>;
  /** Where the result of a command that finishes later is printed. */
  print?(text: string): void;
  /** `exit`: shut the server down. */
  exit(): void;
}

export const SHELL_HELP = `commands:
  users        list the connected users
  kick NAME    disconnect a user (releases their locks)
  save         save the session to disk now (logs "Session saved to disk (reason: manual)",
               or "Session unchanged since the last save" when there is nothing new)
  chat [N]     the last N chat messages of the session (default 20)
  tasks        the session's task board
  restore --at TIME | --before CHANGE
               live restore to a moment of history: disconnects everyone, who can then
               join the restored scene (docs/history.md)
  exit         stop the server
  help         show this text
`;

/** The `users` table. */
export function formatUsers(users: readonly ShellUser[]): string {
  if (users.length === 0) return 'no users connected\n';
  const withAddress = users.some((u) => u.address !== undefined);
  const rows = users.map((u) => {
    const row = [u.name, u.admin ? 'admin' : '', u.status, `${u.latencyMs} ms`, u.clientId];
    return withAddress ? [...row, u.address ?? '-'] : row;
  });
  const header = ['user', 'role', 'status', 'latency', 'client id', ...(withAddress ? ['address'] : [])];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Runs one shell line; returns what to print. Pure apart from the hooks, so it is testable. */
export function runShellLine(line: string, hooks: ShellHooks): string {
  const [cmd, ...args] = line.trim().split(/\s+/);
  switch (cmd) {
    case '':
      return '';
    case 'users':
      return formatUsers(hooks.listUsers());
    case 'kick': {
      const name = args.join(' ');
      if (name === '') return 'usage: kick NAME\n';
      if (!hooks.listUsers().some((u) => u.name === name)) return `no user named '${name}'\n`;
      hooks.kick(name);
      return `kicking ${name}\n`;
    }
    case 'save':
      hooks.save();
      return 'saving the session (see the log)\n';
    case 'chat': {
      const n = args.length === 0 ? 20 : Number(args[0]);
      if (!Number.isSafeInteger(n) || n < 1) return 'usage: chat [N]\n';
      return formatChat(hooks.archive().chat, n);
    }
    case 'tasks':
      return formatTasks(hooks.archive().tasks);
    case 'restore': {
      const usage = 'usage: restore --at TIME | --before CHANGE\n';
      if (hooks.restore === undefined) return 'live restore is not available\n';
      const [flag, ...rest] = args;
      const value = rest.join(' ');
      if ((flag !== '--at' && flag !== '--before') || value === '') return usage;
      const print = hooks.print ?? (() => undefined);
      hooks
        .restore(flag === '--at' ? { at: value } : { before: value })
        .then((r) => print(r.ok ? `${r.message}\n` : `restore refused: ${r.message}\n`))
        .catch((e: unknown) => print(`restore failed: ${e instanceof Error ? e.message : String(e)}\n`));
      return 'restoring (everyone is disconnected first; see the log)\n';
    }
    case 'exit':
    case 'quit':
      hooks.exit();
      return '';
    case 'help':
    case '?':
      return SHELL_HELP;
    default:
      return `unknown command '${cmd}' (try help)\n`;
  }
}

/** Starts the shell on a TTY. Ctrl-C / Ctrl-D in the shell mean `exit`. */
export function startShell(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, hooks: ShellHooks): Interface {
  const rl = createInterface({ input, output, prompt: '> ' });
  let exiting = false;
  const exit = (): void => {
    exiting = true;
    hooks.exit();
  };
  rl.on('line', (line) => {
    const print = (text: string): void => {
      output.write(text);
      if (!exiting) rl.prompt();
    };
    output.write(runShellLine(line, { ...hooks, exit, print }));
    if (!exiting) rl.prompt();
  });
  rl.on('SIGINT', exit);
  rl.on('close', exit);
  rl.prompt();
  return rl;
}
