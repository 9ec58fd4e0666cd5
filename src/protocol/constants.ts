/**
 * Every wire-visible constant of the replication 0.9.10 protocol, in one file (STYLE.md §10,
 * like Hocuspocus `CloseEvents.ts`). The stock add-on parses some of these strings (it tests
 * the Auth reply with substring checks, §4.2), so they are a contract: tests assert them verbatim.
 */

// ---------------------------------------------------------------------------------------------
// Numeric states (§3.1). Shared by client and server; `status` in a user record is one of them.

/** Server thread not running / client not connected. */
export const STATE_INITIAL = 0;
/** Client: pulling a snapshot. */
export const STATE_SYNCING = 1;
/** Server: session running. User record `status` once the client finished synchronising. */
export const STATE_ACTIVE = 2;
/** Unused by client and server. */
export const STATE_ERROR = 3;
/** Unused by client and server. */
export const STATE_CONFIG = 4;
/** Client: Auth sent, waiting for the reply. */
export const STATE_AUTH = 5;
/** Server: started, no repository yet (Auth → `LOBBY`). */
export const STATE_WAITING = 6;
/** Server: receiving the initial repository (Auth → `LOBBY`, a second INIT → REJECTED). */
export const STATE_SRV_SYNC = 7;
/** Client: disconnecting. */
export const STATE_QUITTING = 8;
/** Client: before Auth is sent. */
export const CONNECTING = 9;
/** User record `status` from login until the client finished synchronising (§3.3). */
export const STATE_LOBBY = 10;

// ---------------------------------------------------------------------------------------------
// Owners and versions.

/** Node owner meaning "nobody holds the lock" (§3.1); also the new owner in an unlock Right. */
export const OWNER_COMMON = 'COMMON';
/** Owner frame of everything the server originates, and of ServerSnapshot even from clients (§2.2). */
export const OWNER_SERVER = 'server';
/** Owner frame of a RequestServerInfo request (§4.1). Only a label: never checked. */
export const OWNER_GUEST = 'guest';
/** Owner frame of a client's Delete (§4.6). Only a label: never checked. */
export const OWNER_CLIENT = 'client';

/** The library version the reference checks in Auth and reports in RequestServerInfo (§4.1, §4.2). */
export const REPLICATION_VERSION = '0.9.10';

// ---------------------------------------------------------------------------------------------
// Auth (§4.2). Request keys and the exact reply strings (cap: 03/04/05_auth_*).

export const AUTH_KEY_TYPE = 'AUTH_TYPE';
export const AUTH_KEY_ID = 'AUTH_ID';
export const AUTH_KEY_SERVER_PASSWORD = 'S_PWD';
export const AUTH_KEY_ADMIN_PASSWORD = 'A_PWD';
export const AUTH_KEY_VERSION = 'VERSION';
/** `AUTH_TYPE` that asks for admin rights; any other value logs in as non-admin (cap: 03). */
export const AUTH_TYPE_ADMIN = 'ADMIN';
/** `AUTH_TYPE` the library sends without an admin password. */
export const AUTH_TYPE_CLIENT = 'CLIENT';

/** Success while the server has no repository yet (WAITING or SRV_SYNC): the client waits in the lobby. */
export const AUTH_REPLY_LOBBY = 'LOBBY';
/** Success while the session is ACTIVE: the client sends Snapshot REQUEST_INIT next. */
export const AUTH_REPLY_RUNNING = 'RUNNING';
/** Check 1: a logged-in client already uses this AUTH_ID. */
export const AUTH_FAILED_ALREADY_LOGGED_IN = 'FAILED: client already logged in';
/** Check 2: AUTH_TYPE is ADMIN and A_PWD is not the admin password. */
export const AUTH_FAILED_WRONG_ADMIN_PASSWORD = 'FAILED: wrong admin password';
/** Check 3: `str(S_PWD)` is not the server password. */
export const AUTH_FAILED_WRONG_SERVER_PASSWORD = 'FAILED: wrong server password';

// Replies of our own (deliberate deviations, docs/compatibility.md). They start with `FAILED` so the
// stock add-on, which tests the reply with substring checks (§4.2), disconnects and shows the text.

/** Auth whose data is not a dict (the reference's command thread died on it: crash auth_data_not_a_dict). */
export const AUTH_FAILED_MALFORMED = 'FAILED: malformed auth request';
/** AUTH_ID is not a usable name: not a str, empty, too long, control characters, or reserved. */
export const AUTH_FAILED_INVALID_USERNAME = 'FAILED: invalid username';
/** The configured maximum number of logged-in clients is reached. */
export const AUTH_FAILED_SERVER_FULL = 'FAILED: server full';

/**
 * Check 4: VERSION is not 0.9.10. `sent` is the client's value as Python's f-string prints it
 * (`str(VERSION)`), e.g. `FAILED: wrong client version (0.9.9 != 0.9.10)` (cap: 03_auth_spwd_none).
 */
export function authFailedWrongVersion(sent: string): string {
  return `FAILED: wrong client version (${sent} != ${REPLICATION_VERSION})`;
}

// ---------------------------------------------------------------------------------------------
// Snapshot / ServerSnapshot (§4.3, §4.4): keys and STATE values.

export const SNAPSHOT_KEY_STATE = 'STATE';
export const SNAPSHOT_KEY_CATALOG = 'CATALOG';
export const SNAPSHOT_KEY_ID = 'ID';
export const SNAPSHOT_KEY_DATA = 'DATA';
export const SNAPSHOT_KEY_SIZE = 'SIZE';
export const SNAPSHOT_KEY_NODES = 'NODES';

/** Snapshot (7) STATE values: client REQUEST_INIT/GET/DONE, server INIT/SET. */
export const SNAPSHOT_REQUEST_INIT = 'REQUEST_INIT';
export const SNAPSHOT_INIT = 'INIT';
export const SNAPSHOT_GET = 'GET';
export const SNAPSHOT_SET = 'SET';
export const SNAPSHOT_DONE = 'DONE';

/** ServerSnapshot (8) STATE values: client INIT/SET/END, server ACCEPTED/REJECTED/DONE. */
export const SERVER_SNAPSHOT_INIT = 'INIT';
export const SERVER_SNAPSHOT_ACCEPTED = 'ACCEPTED';
export const SERVER_SNAPSHOT_REJECTED = 'REJECTED';
export const SERVER_SNAPSHOT_SET = 'SET';
export const SERVER_SNAPSHOT_END = 'END';
export const SERVER_SNAPSHOT_DONE = 'DONE';

/**
 * `DATA` of a Snapshot SET for a node the server does not have (§4.4): the **bytes** `b'removed'`,
 * not a str (cap: 06_raw_protocol_paths).
 */
export const NODE_REMOVED_MARKER_TEXT = 'removed';

// ---------------------------------------------------------------------------------------------
// Other command payloads.

/** Right (5) keys: `{'uuid': [ids], 'owner': str}`, in this order (cap: 01_main_session). */
export const RIGHT_KEY_UUID = 'uuid';
export const RIGHT_KEY_OWNER = 'owner';
/** Kick (11) key: `{'user': username}`. */
export const KICK_KEY_USER = 'user';
/** Disconnect (10) key and the only reason the reference sends (§4.8). */
export const DISCONNECT_KEY_REASON = 'reason';
export const DISCONNECT_REASON_KICKED = 'kicked by admin';
/** RequestServerInfo (14) request data (§4.1); the content is not checked. */
export const SERVER_INFO_REQUEST = 'RQ_INFO';
export const SERVER_INFO_KEY_PRIVATE = 'private';
export const SERVER_INFO_KEY_VERSION = 'version';

/** User record keys (§3.3, §4.10), in the reference's order. */
export const USER_KEY_ID = 'id';
export const USER_KEY_ADMIN = 'admin';
export const USER_KEY_LATENCY = 'latency';
export const USER_KEY_STATUS = 'status';
export const USER_KEY_METADATA = 'metadata';
/** `latency` of a user record before the first heartbeat tick measured it (§3.3). */
export const LATENCY_UNKNOWN_MS = 999;

// ---------------------------------------------------------------------------------------------
// Heartbeat (§1.3, §4.13): single frames of 4 ASCII bytes on port P+2.

export const HEARTBEAT_INIT = 'INIT';
export const HEARTBEAT_PING = 'PING';
export const HEARTBEAT_PONG = 'PONG';
/** Reference server default `-t` (heartbeat timeout). */
export const CONNECTION_TIMEOUT_MS = 2000;
/** Heartbeat period of client and server. */
export const CLIENT_PING_FREQUENCY_MS = 1000;
