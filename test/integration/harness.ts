/**
 * A real server (the real `Session` behind a real `SessionServer`) on 127.0.0.1 with three
 * consecutive free ports, our clients connected to it, and teardown that closes everything.
 * Tests await events with deadlines; nothing sleeps.
 */
import { encodePickle, type PyValue } from '../../src/pickle/index.js';
import { ReplicationClient, type ClientOptions } from '../../src/client/index.js';
import { createFuncLogger, type LogLevel, Session, type SessionOptions } from '../../src/session/index.js';
import { SessionServer, type SessionServerOptions } from '../../src/net/index.js';
import { strDict } from '../../src/protocol/index.js';
import { withFreeBasePort } from '../helpers/ports.js';

export const ADMIN_PASSWORD = 'integration-admin';

export interface LogLine {
  readonly level: LogLevel;
  readonly message: string;
}

/** Collected log lines, with an awaitable `waitFor`. */
export class LogSink {
  readonly lines: LogLine[] = [];
  private waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  push(line: LogLine): void {
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** The first line (already written or next) matching; rejects after `ms`. */
  waitFor(match: (l: LogLine) => boolean, ms = 5000): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('log line not written in time')), ms);
      this.waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  has(text: string | RegExp): boolean {
    return this.lines.some((l) => (typeof text === 'string' ? l.message.includes(text) : text.test(l.message)));
  }
}

export interface TestServer {
  readonly server: SessionServer;
  readonly session: Session;
  readonly port: number;
  readonly logs: LogSink;
  /** A client for this server, closed at teardown. Not connected yet: call `login()`. */
  client(username: string, options?: Partial<ClientOptions>): ReplicationClient;
  /** Logs in an admin and initialises the session with `nodes`. */
  initWith(nodes: readonly { uuid: string; name?: string }[], admin?: string): Promise<ReplicationClient>;
  close(): Promise<void>;
}

export async function startTestServer(
  sessionOptions: Partial<SessionOptions> = {},
  serverOptions: Partial<Omit<SessionServerOptions, 'port' | 'session'>> = {},
): Promise<TestServer> {
  const logs = new LogSink();
  const logger = createFuncLogger((level, message) => logs.push({ level, message }));
  const session = new Session({ adminPassword: ADMIN_PASSWORD, ...sessionOptions });
  const server = await withFreeBasePort((port) =>
    SessionServer.start({ port, host: '127.0.0.1', session, logger, ...serverOptions }),
  );
  const clients: ReplicationClient[] = [];
  const ts: TestServer = {
    server,
    session,
    port: server.port,
    logs,
    client(username, options = {}) {
      const c = new ReplicationClient({
        host: '127.0.0.1',
        port: server.port,
        username,
        stepTimeoutMs: 5000,
        ...options,
      });
      clients.push(c);
      return c;
    },
    async initWith(nodes, admin = 'alice') {
      const c = ts.client(admin, { adminPassword: ADMIN_PASSWORD });
      const reply = await c.login();
      if (reply !== 'LOBBY') throw new Error(`expected LOBBY, got ${reply}`);
      const result = await c.init(nodes.map((n) => ({ uuid: n.uuid, dataBytes: nodeBytes(n.uuid, n.name) })));
      if (result !== 'ACCEPTED') throw new Error(`init ${result}`);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    },
  };
  return ts;
}

/** Node data shaped like the add-on's (§5.1), pickled: a plain dict with `type_id` and `uuid`. */
export function nodeBytes(uuid: string, name = 'Cube', extra: [string, PyValue][] = []): Buffer {
  return encodePickle(strDict([['type_id', 'Object'], ['uuid', uuid], ['name', name], ...extra]));
}

/** A deepdiff delta pickle renaming the node: `{'values_changed': {"root['name']": {'new_value': name}}}`. */
export function renameDelta(name: string): Buffer {
  return encodePickle(strDict([['values_changed', strDict([["root['name']", strDict([['new_value', name]])]])]]));
}

/** Deterministic UUID-shaped ids. */
export function uuidOf(n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${hex}`;
}
