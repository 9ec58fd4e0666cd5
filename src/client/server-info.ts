/**
 * RequestServerInfo (§4.1), the add-on's "refresh server status": a throw-away DEALER with its own
 * fresh identity, on the command port only, closed as soon as the reply (or the deadline) comes.
 */
import { randomBytes } from 'node:crypto';

import { DealerConnection, tcpEndpoint, netError } from '../net/index.js';
import { PyDict } from '../pickle/index.js';
import {
  SERVER_INFO_KEY_PRIVATE,
  SERVER_INFO_KEY_VERSION,
  protocolError,
  decodeMessage,
  MessageType,
} from '../protocol/index.js';
import { encodeServerInfoRequest } from './requests.js';

export interface ServerInfo {
  /** Whether the server wants a server password. */
  readonly private: boolean;
  readonly version: string;
}

export interface ServerInfoOptions {
  host: string;
  port: number;
  /** The add-on waits 500 ms (`ping_timeout`); default here 2000. */
  timeoutMs?: number;
}

/**
 * Asks a server for its info. Rejects with `NetError` `NET_TIMEOUT` when no reply comes in time,
 * `ProtocolError` when the reply is not a RequestServerInfo with `private` and `version`.
 */
export async function requestServerInfo(opts: ServerInfoOptions): Promise<ServerInfo> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const conn = new DealerConnection({
    channel: 'command',
    endpoint: tcpEndpoint(opts.host, opts.port),
    routingId: randomBytes(16),
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(netError('NET_TIMEOUT', `no server info from ${opts.host}:${opts.port} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    const reply = (async () => {
      for await (const frames of conn.messages()) {
        const msg = decodeMessage(frames);
        if (msg.type !== MessageType.RequestServerInfo) continue;
        const d = msg.data;
        const priv = d instanceof PyDict ? d.get(SERVER_INFO_KEY_PRIVATE) : undefined;
        const version = d instanceof PyDict ? d.get(SERVER_INFO_KEY_VERSION) : undefined;
        if (typeof priv !== 'boolean' || typeof version !== 'string') {
          throw protocolError('PROTOCOL_SHAPE', 'server info reply without a bool private and a str version');
        }
        return { private: priv, version };
      }
      throw netError('NET_CLOSED', 'connection closed before the server info reply');
    })();
    reply.catch(() => undefined); // the loser of the race below must not become an unhandled rejection
    await conn.send(encodeServerInfoRequest());
    return await Promise.race([reply, deadline]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    conn.close();
  }
}
