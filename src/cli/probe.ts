/**
 * `multiuser-server probe HOST:PORT`: checks a deployed server end to end with our client, the way
 * the add-on uses it — server info on a throw-away identity, login as a throw-away user, the user
 * list, a heartbeat round trip (PING answered, latency measured by the server), logout — and
 * prints one line per step. Exit code 0 when every step passed, 1 otherwise, 2 for bad arguments.
 * A server that cannot be reached (connection refused, unknown host, no answer) fails at the first
 * step, within the timeout, and no later step is attempted or reported as passed.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

import { ReplicationClient, requestServerInfo } from '../client/index.js';
import { LATENCY_UNKNOWN_MS } from '../protocol/index.js';
import { parseTarget, type ProbeTarget } from './target.js';

export interface ProbeOptions extends ProbeTarget {
  serverPassword: string;
  timeoutMs: number;
  username: string;
}

export const PROBE_USAGE = `usage: multiuser-server probe HOST[:PORT] [--server-password PW] [--timeout MS] [--username NAME]
`;

/** Parses the probe's arguments; returns an error message for bad ones. */
export function parseProbeArgs(args: readonly string[]): ProbeOptions | string {
  let target: ProbeTarget | undefined;
  let serverPassword = '';
  let timeoutMs = 5000;
  let username = `probe-${randomBytes(3).toString('hex')}`;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = (): string | undefined => args[++i];
    if (arg === '--server-password' || arg === '-spwd') {
      const v = value();
      if (v === undefined) return `${arg} needs a value`;
      serverPassword = v;
    } else if (arg === '--timeout' || arg === '-t') {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 100) return `${arg} needs a number of milliseconds (at least 100)`;
      timeoutMs = v;
    } else if (arg === '--username') {
      const v = value();
      if (v === undefined || v === '') return `${arg} needs a value`;
      username = v;
    } else if (target === undefined && !arg.startsWith('-')) {
      target = parseTarget(arg);
      if (target === undefined) return `cannot read '${arg}' as HOST:PORT`;
    } else {
      return `unexpected argument '${arg}'`;
    }
  }
  if (target === undefined) return 'missing HOST:PORT';
  return { ...target, serverPassword, timeoutMs, username };
}

type Report = (ok: boolean, step: string, detail: string) => void;

async function step<T>(report: Report, name: string, run: () => Promise<[T, string]>): Promise<T | undefined> {
  const started = performance.now();
  try {
    const [value, detail] = await run();
    report(true, name, `${detail} (${Math.round(performance.now() - started)} ms)`);
    return value;
  } catch (err) {
    report(false, name, err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

/**
 * Opens one TCP connection to the command port and closes it: our DEALER reconnects quietly (as
 * libzmq does), so a refused connection or an unknown host would otherwise only show as a timeout.
 */
function checkReachable(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TCP connection to ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const why =
        err.code === 'ECONNREFUSED'
          ? 'connection refused (no server listens there)'
          : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
            ? 'unknown host'
            : (err.code ?? err.message);
      reject(new Error(`cannot connect to ${host}:${port}: ${why}`));
    });
  });
}

/** Runs the probe, writing the report to `out`; resolves with the exit code. */
export async function runProbe(opts: ProbeOptions, out: NodeJS.WritableStream): Promise<number> {
  let failures = 0;
  const report: Report = (ok, name, detail) => {
    if (!ok) failures++;
    out.write(`  ${ok ? 'ok  ' : 'FAIL'}  ${name}: ${detail}\n`);
  };
  out.write(`probing ${opts.host}:${opts.port} (ports ${opts.port}-${opts.port + 2}) as ${opts.username}\n`);

  const finish = (): number => {
    out.write(failures === 0 ? 'result: OK\n' : `result: FAILED (${failures} step(s))\n`);
    return failures === 0 ? 0 : 1;
  };
  const info = await step(report, 'server info', async () => {
    await checkReachable(opts.host, opts.port, opts.timeoutMs);
    const info = await requestServerInfo({ host: opts.host, port: opts.port, timeoutMs: opts.timeoutMs });
    return [info, `version ${info.version}, ${info.private ? 'private (password required)' : 'public'}`];
  });
  if (info === undefined) return finish();

  const client = new ReplicationClient({
    host: opts.host,
    port: opts.port,
    username: opts.username,
    serverPassword: opts.serverPassword,
    connectionTimeoutMs: opts.timeoutMs,
    stepTimeoutMs: opts.timeoutMs,
  });
  try {
    const reply = await step(report, 'login', async () => {
      const r = await client.login();
      if (r.includes('FAILED')) throw new Error(r);
      return [r, `${r === 'RUNNING' ? 'RUNNING (session active)' : r === 'LOBBY' ? 'LOBBY (waiting for an init)' : r}`];
    });
    if (reply !== undefined) {
      await step(report, 'user list', async () => {
        const users = await client.waitForUsers((list) => list.some((u) => u.name === opts.username));
        return [users, `${users.length} user(s) online, including us`];
      });
      await step(report, 'heartbeat', async () => {
        await client.waitFor((e) => e.type === 'ping', opts.timeoutMs, 'PING');
        // The server measures latency from our PONG at its next tick (about a second, §4.13).
        const users = await client.waitForUsers((list) =>
          list.some((u) => u.name === opts.username && u.latencyMs !== LATENCY_UNKNOWN_MS),
        );
        const me = users.find((u) => u.name === opts.username);
        return [me, `PING answered, latency ${me?.latencyMs} ms`];
      });
    }
    if (reply !== undefined) {
      await step(report, 'logout', async () => {
        await client.close('probe finished');
        return [undefined, 'sockets closed (the server drops the user once they stay closed for DISCONNECT_GRACE)'];
      });
    }
  } finally {
    await client.close('probe finished');
  }
  return finish();
}
