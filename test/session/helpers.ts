/**
 * A pure harness around `Session`: builds client frames with the protocol encoders, feeds them as
 * events with a fake clock, and reads the effects back as decoded messages. No sockets, no sleeps.
 */
import assert from 'node:assert/strict';

import { encodePickle, type PyDict, type PyValue } from '../../src/pickle/index.js';
import {
  decodeMessage,
  encodeCommand,
  encodeMessage,
  MessageType,
  REPLICATION_VERSION,
  strDict,
  type ReplicationMessage,
} from '../../src/protocol/index.js';
import {
  Session,
  type Channel,
  type ClientId,
  type Effect,
  type Mutation,
  type SessionEvent,
  type SessionOptions,
} from '../../src/session/index.js';

export const ADMIN_PASSWORD = 'admin-secret';
export const START_MS = 1_000_000;

/** A 16-byte identity as the session sees it (lowercase hex). */
export function identity(n: number): ClientId {
  return n.toString(16).padStart(32, '0');
}

export interface AuthFields {
  type?: string;
  adminPassword?: PyValue;
  serverPassword?: PyValue;
  version?: PyValue;
}

export function authFrames(name: PyValue, f: AuthFields = {}): Buffer[] {
  const data = strDict([
    ['AUTH_TYPE', f.type ?? (f.adminPassword ? 'ADMIN' : 'CLIENT')],
    ['AUTH_ID', name],
    ['S_PWD', f.serverPassword === undefined ? '' : f.serverPassword],
    ['A_PWD', f.adminPassword ?? null],
    ['VERSION', f.version === undefined ? REPLICATION_VERSION : f.version],
  ]);
  return encodeCommand(MessageType.Auth, typeof name === 'string' ? name : 'x', data);
}

export const serverInfoFrames = (): Buffer[] => encodeCommand(MessageType.RequestServerInfo, 'guest', 'RQ_INFO');

/** A node data dict shaped like the add-on's (§5.1). */
export function nodeData(uuid: string, name = 'Cube', extra: [string, PyValue][] = []): PyDict {
  return strDict([['type_id', 'Object'], ['uuid', uuid], ['name', name], ...extra]);
}

export function nodeFrames(uuid: string, owner: string, deps: string[] | null, data: PyValue): Buffer[] {
  return encodeMessage({ type: MessageType.Node, uuid, owner, deps, dataBytes: encodePickle(data) });
}

export function commitFrames(nodeId: string, deps: string[] | null, deltaBytes: Uint8Array): Buffer[] {
  return encodeMessage({ type: MessageType.Commit, nodeId, deps, deltaBytes });
}

/** A deepdiff delta pickle `{'values_changed': {"root['name']": {'new_value': name}}}` (no globals needed). */
export function renameDelta(name: string): Buffer {
  return encodePickle(strDict([['values_changed', strDict([["root['name']", strDict([['new_value', name]])]])]]));
}

export const snapshotFrames = (entries: [string, PyValue][]): Buffer[] =>
  encodeCommand(MessageType.Snapshot, 'bob', strDict(entries));
export const serverSnapshotFrames = (entries: [string, PyValue][]): Buffer[] =>
  encodeCommand(MessageType.ServerSnapshot, 'server', strDict(entries));
export const deleteFrames = (id: PyValue): Buffer[] => encodeCommand(MessageType.Delete, 'client', id);
export const rightFrames = (label: string, ids: string[], owner: string): Buffer[] =>
  encodeCommand(
    MessageType.Right,
    label,
    strDict([
      ['uuid', ids],
      ['owner', owner],
    ]),
  );
export const kickFrames = (label: string, user: PyValue): Buffer[] =>
  encodeCommand(MessageType.Kick, label, strDict([['user', user]]));
export const metadataFrames = (label: string, data: PyValue): Buffer[] =>
  encodeCommand(MessageType.UpdateUserMetadata, label, data);

export interface Sent {
  channel: Channel;
  to: readonly ClientId[];
  frames: readonly Uint8Array[];
}

export class Harness {
  readonly session: Session;
  /** Every mutation the session asked to persist through this harness, in order (the journal). */
  readonly journal: Mutation[] = [];
  now = START_MS;
  private next = 1;
  private readonly serverPassword: string;

  constructor(options: Partial<SessionOptions> = {}, session?: Session) {
    this.session = session ?? new Session({ adminPassword: ADMIN_PASSWORD, ...options });
    this.serverPassword = options.serverPassword ?? '';
  }

  /** Hands any event to the session, recording its `persist` effects in `journal`. */
  event(event: SessionEvent): Effect[] {
    const fx = this.session.handle(event);
    for (const e of fx) if (e.type === 'persist') this.journal.push(e.mutation);
    return fx;
  }

  newIdentity(): ClientId {
    return identity(this.next++);
  }

  at(now: number): this {
    this.now = now;
    return this;
  }

  message(channel: Channel, from: ClientId, frames: readonly Uint8Array[]): Effect[] {
    return this.event({ type: 'message', channel, from, frames, now: this.now });
  }

  command(from: ClientId, frames: readonly Uint8Array[]): Effect[] {
    return this.message('command', from, frames);
  }

  data(from: ClientId, frames: readonly Uint8Array[]): Effect[] {
    return this.message('data', from, frames);
  }

  heartbeat(from: ClientId, text: string): Effect[] {
    return this.message('heartbeat', from, [Buffer.from(text, 'latin1')]);
  }

  tick(now = this.now): Effect[] {
    this.now = now;
    return this.event({ type: 'tick', now });
  }

  /** Logs a client in (and starts its heartbeat unless told not to); returns its identity. */
  login(name: string, opts: { admin?: boolean; heartbeat?: boolean } = {}): ClientId {
    const id = this.newIdentity();
    const admin = opts.admin ? { adminPassword: ADMIN_PASSWORD } : {};
    const fx = this.command(id, authFrames(name, { ...admin, serverPassword: this.serverPassword }));
    const reply = authReply(fx, id);
    assert.ok(reply === 'LOBBY' || reply === 'RUNNING', `login of ${name} failed: ${reply}`);
    if (opts.heartbeat !== false) this.heartbeat(id, 'INIT');
    return id;
  }

  /** Initialises the session from `initiator` with the given nodes (owner COMMON) and returns their ids. */
  init(initiator: ClientId, count: number): string[] {
    const ids = Array.from({ length: count }, (_, i) => `node-${i}-${this.next++}`);
    this.command(
      initiator,
      serverSnapshotFrames([
        ['STATE', 'INIT'],
        ['SIZE', BigInt(count)],
        ['NODES', ids],
      ]),
    );
    for (const id of ids)
      this.command(
        initiator,
        serverSnapshotFrames([
          ['STATE', 'SET'],
          ['DATA', nodeFrames(id, 'COMMON', [], nodeData(id))],
        ]),
      );
    this.command(initiator, serverSnapshotFrames([['STATE', 'END']]));
    return ids;
  }

  /** Serves one node to `client` through Snapshot GET and returns the decoded Node (or 'removed'). */
  fetch(client: ClientId, id: string): ReplicationMessage | 'removed' {
    const fx = this.command(
      client,
      snapshotFrames([
        ['STATE', 'GET'],
        ['ID', id],
      ]),
    );
    const set = only(commandsTo(fx, client, MessageType.Snapshot));
    const data = (set.data as PyDict).get('DATA') as PyValue;
    if (data instanceof Uint8Array) return 'removed';
    return decodeMessage(data as Uint8Array[]);
  }
}

export function sends(effects: readonly Effect[], channel?: Channel): Sent[] {
  const out: Sent[] = [];
  for (const e of effects) if (e.type === 'send' && (channel === undefined || e.channel === channel)) out.push(e);
  return out;
}

/** Decoded command-socket messages sent to `to`, optionally of one type, in order. */
export function commandsTo(
  effects: readonly Effect[],
  to: ClientId,
  type?: number,
): (ReplicationMessage & { data?: PyValue })[] {
  return sends(effects, 'command')
    .filter((s) => s.to.includes(to))
    .map((s) => decodeMessage(s.frames) as ReplicationMessage & { data?: PyValue })
    .filter((m) => type === undefined || m.type === type);
}

/** Decoded data-socket messages sent to `to`. */
export function dataTo(effects: readonly Effect[], to: ClientId): ReplicationMessage[] {
  return sends(effects, 'data')
    .filter((s) => s.to.includes(to))
    .map((s) => decodeMessage(s.frames));
}

/** Heartbeat frames sent to `to`, as text. */
export function heartbeatsTo(effects: readonly Effect[], to: ClientId): string[] {
  return sends(effects, 'heartbeat')
    .filter((s) => s.to.includes(to))
    .map((s) => Buffer.from(s.frames[0]).toString('latin1'));
}

export function authReply(effects: readonly Effect[], to: ClientId): string {
  return only(commandsTo(effects, to, MessageType.Auth)).data as string;
}

/** The last UpdateClientsState sent to `to`, as {username: record}. */
export function userList(effects: readonly Effect[], to: ClientId): Map<string, PyDict> {
  const lists = commandsTo(effects, to, MessageType.UpdateClientsState);
  assert.ok(lists.length > 0, 'no UpdateClientsState');
  const out = new Map<string, PyDict>();
  for (const [k, v] of (lists[lists.length - 1].data as PyDict).entries()) out.set(k as string, v as PyDict);
  return out;
}

export function logs(effects: readonly Effect[], level?: string): { level: string; message: string; key?: string }[] {
  const out: { level: string; message: string; key?: string }[] = [];
  for (const e of effects) if (e.type === 'log' && (level === undefined || e.level === level)) out.push(e);
  return out;
}

export function only<T>(items: readonly T[]): T {
  assert.equal(items.length, 1, `expected exactly one item, got ${items.length}`);
  return items[0];
}

export function stateOf(msg: { data?: PyValue }): PyValue | undefined {
  return (msg.data as PyDict).get('STATE');
}
