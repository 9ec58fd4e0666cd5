/** What a `ReplicationClient` reports: one event per received message, plus its own life cycle. */
import type { PyDict } from '../pickle/index.js';
import type { ProtocolError, AnyCommand, Commit, Node } from '../protocol/index.js';
import type { Channel } from '../net/index.js';

export type ClientEvent =
  /** A decoded message on the command socket (Auth reply, UpdateClientsState, Right echo, ...). */
  | { readonly type: 'command'; readonly message: AnyCommand }
  /** A Node or Commit relayed on the data socket. */
  | { readonly type: 'data'; readonly message: Node | Commit }
  /** A PING on the heartbeat socket (answered with PONG unless answering is paused). */
  | { readonly type: 'ping' }
  /** A message the client could not decode; the client goes on. */
  | { readonly type: 'malformed'; readonly channel: Channel; readonly error: ProtocolError }
  /** The client closed: by `close()`, a Disconnect (kick), a failed login, or a lost server. */
  | { readonly type: 'closed'; readonly reason: string };

export type ClientEventType = ClientEvent['type'];

/** One entry of the user list (UpdateClientsState, §4.10). */
export interface UserView {
  readonly name: string;
  readonly admin: boolean;
  readonly latencyMs: number;
  /** 10 (LOBBY) until the user synchronised, then 2 (ACTIVE). */
  readonly status: number;
  readonly metadata: PyDict;
}

/** The client's protocol state, as the library names them (§3.1). */
export type ClientState = 'idle' | 'auth' | 'lobby' | 'syncing' | 'active' | 'closed';
