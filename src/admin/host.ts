/**
 * What the admin console reads and asks of the running server. `cli/serve.ts` builds it from the
 * session, the socket server and persistence; `admin/` never imports `net/` or `cli/` (the module
 * boundaries of DESIGN §3), so the socket server's counters arrive as plain objects of the shapes
 * below, read at scrape or request time.
 */
import type { Session } from '../session/index.js';

export type SocketName = 'command' | 'data' | 'heartbeat';

/** Counts kept as plain integers by the socket server (its `stats()`). */
export interface NetStatsView {
  readonly received: Readonly<Record<SocketName, number>>;
  /** By type number 1–14; slot 0 holds heartbeats and anything else. */
  readonly receivedByType: Readonly<Record<SocketName, readonly number[]>>;
  readonly sentByType: Readonly<Record<SocketName, readonly number[]>>;
  readonly relayLatency: {
    readonly boundsS: readonly number[];
    readonly counts: readonly number[];
    readonly sumS: number;
    readonly count: number;
  };
  readonly send: Readonly<
    Record<
      SocketName,
      {
        readonly queuedMessages: number;
        readonly queuedBytes: number;
        readonly droppedClients: number;
        readonly bestEffortDiscarded: number;
      }
    >
  >;
  readonly strangers: number;
  readonly connectionsAccepted: number;
  readonly connectionsRefused: number;
  /** Change messages dropped while the journal refuses changes. */
  readonly refused: number;
  readonly effects: { readonly withheld: number };
}

/** The socket server, once its three sockets are bound. */
export interface NetView {
  stats(): NetStatsView;
  readonly connectionCount: number;
  /** `IP:port` of the client's command connection, when the transport knows it. */
  peerOf(clientId: string): string | null;
  /** Operator kick: the session disconnects the user (logged like the shell's `kick`). */
  kick(username: string): void;
}

/** A save's result as persistence reports it. */
export type SaveResult =
  | {
      readonly ok: true;
      readonly reason: string;
      readonly bytes: number;
      readonly backup: string | null;
      readonly durationMs: number;
      readonly atMs: number;
    }
  | { readonly ok: false; readonly reason: string; readonly error: string; readonly atMs: number };

export interface JournalView {
  readonly writable: boolean;
  readonly heldInMemory: number;
  readonly error: string | null;
  readonly refusing: boolean;
}

export interface JournalStatsView {
  readonly appends: number;
  readonly appendedBytes: number;
  readonly failures: number;
  readonly fsyncCounts: readonly number[];
  readonly fsyncSumS: number;
}

export interface DiskView {
  readonly state: 'ok' | 'low' | 'unknown';
  readonly freeBytes: number | null;
  readonly warnBelowBytes: number;
}

/** One backup file as the console lists it. */
export interface BackupInfo {
  /** `snapshot_YYYYMMDD_HHMMSS` (no extension): the name in the API's URLs. */
  readonly name: string;
  readonly savedAtMs: number;
  readonly bytes: number;
  readonly verified: 'ok' | 'bad' | 'unknown';
  readonly detail: string | null;
}

/** A file to send: its size and a stream of its bytes. */
export interface FileBody {
  readonly bytes: number | null;
  readonly stream: NodeJS.ReadableStream;
}

/** Persistence: the data directory's state and actions. */
export interface StoreView {
  journal(): JournalView;
  journalStats(): JournalStatsView;
  disk(): DiskView;
  /** The newest save's result (any reason), or null before the first. */
  lastSave(): SaveResult | null;
  nextAutoSaveAtMs(): number | null;
  /** Saves now (coalesced with a save in flight); never rejects. */
  save(reason: string): Promise<SaveResult>;
  listBackups(): Promise<BackupInfo[]>;
  /** Decodes the backup fully; null when there is no backup by that name. */
  verifyBackup(name: string): Promise<BackupInfo | null>;
  /** The backup file's bytes (already an add-on session file); null when absent. */
  openBackup(name: string): Promise<FileBody | null>;
  /** The current session encoded as a session file (what a save would write). */
  exportSession(): FileBody;
}

export interface AdminHost {
  readonly version: string;
  readonly startedAtMs: number;
  readonly ports: { readonly command: number; readonly data: number; readonly heartbeat: number };
  /** Null while the data directory is being recovered. */
  session(): Session | null;
  /** Null until the three session sockets are bound. */
  net(): NetView | null;
  /** Null while recovering. */
  store(): StoreView | null;
  /** Live restore to a moment of history (absent where the server cannot do it). */
  restore?(request: RestoreRequest): Promise<RestoreResult>;
}

/** A moment of history: exactly one of a time and a change id. */
export interface RestoreRequest {
  readonly at?: string;
  readonly before?: string;
}

export type RestoreResult =
  | { readonly ok: true; readonly message: string }
  /** `usage`: the request itself is wrong; otherwise history or the disk refused it. */
  | { readonly ok: false; readonly usage: boolean; readonly message: string };
