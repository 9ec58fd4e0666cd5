/**
 * The compiled CLI as a child process on a data directory, for the persistence tests: started with
 * stdin on /dev/null, log lines awaited with deadlines (never sleeps), stopped with SIGTERM or
 * killed with SIGKILL, and restarted on the same directory. Every process and client is cleaned
 * up by `closeAll`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ReplicationClient, type ClientOptions } from '../../src/client/index.js';
import { pickBasePort } from '../helpers/ports.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
export const CLI_ADMIN_PASSWORD = 'persistence-admin';

export interface CliServer {
  readonly child: ChildProcess;
  readonly port: number;
  readonly dataDir: string;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Output length now: pass it to `waitFor` to wait for a line printed after this point. */
  mark(): number;
  /** Resolves once `text` appears in the output after `from`; rejects at the deadline or on exit. */
  waitFor(text: string | RegExp, ms?: number, from?: number): Promise<void>;
  readonly exited: Promise<number | null>;
  /** SIGTERM, then the exit code (rejects when it does not exit in time). */
  stop(ms?: number): Promise<number | null>;
  /** SIGKILL, resolves once the process is gone. */
  kill(): Promise<void>;
  client(username: string, options?: Partial<ClientOptions>): ReplicationClient;
}

const servers: CliServer[] = [];
const clients: ReplicationClient[] = [];
const dirs: string[] = [];

/** A fresh temp data directory, removed by `closeAll`. */
export function tempDataDir(prefix = 'mus-persist-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export interface StartOptions {
  /** `ignore` (default): stdin on /dev/null; `pipe`: an open pipe that never sends anything. */
  stdin?: 'ignore' | 'pipe';
  /** Resolve once this is printed instead of `Listening on P.` (e.g. for a start that must fail). */
  readyText?: string;
}

/** Starts the CLI on `dataDir` with `args`; retries on another port when one was taken meanwhile. */
export async function startCli(
  dataDir: string,
  args: readonly string[] = [],
  options: StartOptions = {},
): Promise<CliServer> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await pickBasePort();
    const child = spawn(
      process.execPath,
      [
        MAIN,
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '-apwd',
        CLI_ADMIN_PASSWORD,
        '--data-dir',
        dataDir,
        ...args,
      ],
      { cwd: dataDir, env: { PATH: process.env.PATH ?? '' }, stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'] },
    );
    let text = '';
    const listeners = new Set<() => void>();
    const onData = (d: Buffer): void => {
      text += d.toString();
      for (const l of [...listeners]) l();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    let gone = false;
    void exited.then(() => {
      gone = true;
      for (const l of [...listeners]) l();
    });
    const waitFor = (pattern: string | RegExp, ms = 10_000, from = 0): Promise<void> =>
      new Promise((resolvePromise, reject) => {
        const found = (): boolean => {
          const rest = text.slice(from);
          return typeof pattern === 'string' ? rest.includes(pattern) : pattern.test(rest);
        };
        const check = (): void => {
          if (found()) finish();
          else if (gone) finish(new Error(`exited before printing ${String(pattern)}:\n${text}`));
        };
        const timer = setTimeout(
          () => finish(new Error(`${String(pattern)} not printed within ${ms} ms:\n${text}`)),
          ms,
        );
        const finish = (err?: Error): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (err === undefined) resolvePromise();
          else reject(err);
        };
        listeners.add(check);
        check();
      });
    const server: CliServer = {
      child,
      port,
      dataDir,
      output: () => text,
      mark: () => text.length,
      waitFor,
      exited,
      async stop(ms = 15_000) {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms of SIGTERM:\n${text}`)), ms);
        });
        try {
          return await Promise.race([exited, deadline]);
        } finally {
          clearTimeout(timer);
        }
      },
      async kill() {
        child.kill('SIGKILL');
        await exited;
      },
      client(username, options = {}) {
        const c = new ReplicationClient({ host: '127.0.0.1', port, username, stepTimeoutMs: 8000, ...options });
        clients.push(c);
        return c;
      },
    };
    servers.push(server);
    try {
      await waitFor(options.readyText ?? `Listening on ${port}.`);
      return server;
    } catch (err) {
      if (!text.includes('already in use')) throw err;
    }
  }
  throw new Error('no free port for the CLI');
}

/** Closes every client, kills every process still running and removes the temp directories. */
export async function closeAll(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of servers.splice(0)) if (s.child.exitCode === null && s.child.signalCode === null) await s.kill();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Logs in an admin and initialises the session with `nodes` (uuid → pickled data). */
export async function initAs(
  server: CliServer,
  nodes: readonly { uuid: string; dataBytes: Uint8Array }[],
  admin = 'alice',
): Promise<ReplicationClient> {
  const c = server.client(admin, { adminPassword: CLI_ADMIN_PASSWORD });
  const reply = await c.login();
  if (reply !== 'LOBBY') throw new Error(`expected LOBBY, got ${reply}`);
  const result = await c.init(nodes);
  if (result !== 'ACCEPTED') throw new Error(`init ${result}`);
  return c;
}
