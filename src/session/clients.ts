/**
 * The logged-in clients (§3.3): one record per identity, indexed by username too (usernames are
 * unique among logged-in clients, §4.2 check 1). Records double as the `UserRecord`s of
 * UpdateClientsState (§4.10), in login order.
 */
import type { PyDict } from '../pickle/index.js';
import {
  LATENCY_UNKNOWN_MS,
  STATE_ACTIVE,
  STATE_LOBBY,
  encodeUpdateClientsState,
  type UserRecord,
} from '../protocol/index.js';
import type { SessionContext } from './context.js';
import type { ClientId } from './events.js';
import type { UserEntry } from './users.js';

export class ClientRecord implements UserRecord {
  /** Measured by the heartbeat tick; 999 until the first one (§3.3). */
  latencyMs = LATENCY_UNKNOWN_MS;
  /** `STATE_LOBBY` until the client finished synchronising, then `STATE_ACTIVE`. */
  status: number = STATE_LOBBY;
  /**
   * The task ids (→ canonical JSON of each valid task, `null` for an invalid one) of the last
   * `tasks` value this login sent (archive-updates.ts); `undefined` until it sent one.
   */
  tasksSeen: Map<string, string | null> | undefined = undefined;

  constructor(
    readonly clientId: ClientId,
    /** The user record this login created (users.ts): name, admin flag, merged metadata. */
    readonly entry: UserEntry,
    readonly loginMs: number,
  ) {}

  /** The username (`AUTH_ID`). */
  get id(): string {
    return this.entry.name;
  }

  get admin(): boolean {
    return this.entry.admin;
  }

  /** Everything merged with UpdateUserMetadata (§4.9). */
  get metadata(): PyDict {
    return this.entry.metadata;
  }
}

export class ClientRegistry {
  private readonly byId = new Map<ClientId, ClientRecord>();
  private readonly byName = new Map<string, ClientRecord>();

  get size(): number {
    return this.byId.size;
  }

  get(id: ClientId): ClientRecord | undefined {
    return this.byId.get(id);
  }

  byUsername(name: string): ClientRecord | undefined {
    return this.byName.get(name);
  }

  add(record: ClientRecord): void {
    this.byId.set(record.clientId, record);
    this.byName.set(record.id, record);
  }

  remove(id: ClientId): ClientRecord | undefined {
    const record = this.byId.get(id);
    if (record === undefined) return undefined;
    this.byId.delete(id);
    this.byName.delete(record.id);
    return record;
  }

  records(): IterableIterator<ClientRecord> {
    return this.byId.values();
  }

  /** Every logged-in identity, in login order. */
  ids(): ClientId[] {
    return [...this.byId.keys()];
  }

  /** Every logged-in identity except `id`. */
  others(id: ClientId): ClientId[] {
    const out: ClientId[] = [];
    for (const other of this.byId.keys()) if (other !== id) out.push(other);
    return out;
  }
}

/** The status a shell / admin API shows for a record. */
export function statusName(status: number): 'active' | 'lobby' {
  return status === STATE_ACTIVE ? 'active' : 'lobby';
}

/**
 * UpdateClientsState with every record to every logged-in client (§4.10): after each Auth, after
 * Snapshot DONE / ServerSnapshot END, and at every heartbeat tick. Encoded once for all. The
 * chat/task archive entry (`'~archive'`, archive.ts) comes last while the archive is non-empty.
 */
export function broadcastUserList(ctx: SessionContext): void {
  if (ctx.clients.size === 0) return;
  const archive = ctx.archive.entry();
  const records: Iterable<UserRecord> =
    archive === undefined ? ctx.clients.records() : [...ctx.clients.records(), archive];
  ctx.out.send('command', ctx.clients.ids(), encodeUpdateClientsState(records));
}
