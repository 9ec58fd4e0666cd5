/**
 * The console's live side: Server-Sent Events to the dashboards that are open (`/api/events`),
 * and the message-rate history behind its charts (`/api/stats/history`). Logins, leaves, lock
 * changes and chat are found by comparing the session with what it was a moment ago (once a
 * second, and only while a dashboard listens); saves, kicks and warnings are pushed by whoever
 * caused them. Nothing here runs per protocol message.
 */
import type { ServerResponse } from 'node:http';

import type { PyDict } from '../pickle/index.js';
import type { Session } from '../session/index.js';
import type { AdminHost } from './host.js';
import { BASE_HEADERS } from './http-reply.js';
import { chatView } from './views.js';

export type FeedEventType = 'login' | 'leave' | 'kick' | 'save' | 'warning' | 'lock' | 'unlock' | 'chat' | 'stats';

export interface StatsSample {
  readonly at: string;
  readonly usersOnline: number;
  readonly msgsInPerSec: number;
  readonly msgsOutPerSec: number;
}

export interface LiveFeedOptions {
  /** Period of `stats` samples (ms). */
  statsIntervalMs?: number;
  /** Period of the session comparison (ms). */
  watchIntervalMs?: number;
  /** Open event streams at most (each holds a socket). */
  maxStreams?: number;
}

export const STATS_INTERVAL_MS = 2000;
const WATCH_INTERVAL_MS = 1000;
const HISTORY_MS = 3600_000;
export const MAX_EVENT_STREAMS = 16;
/** Nodes listed in one lock/unlock event; the rest is counted. */
const LOCK_EVENT_NODES = 50;
/** Chat messages published at most per look (a restored archive is not replayed). */
const MAX_CHAT_EVENTS = 20;

interface Snapshot {
  users: Map<string, boolean>;
  owners: Map<string, string>;
  changeCounter: number;
  /** The newest chat message seen (the archive keeps the message objects it was given). */
  lastChat: PyDict | null;
}

function sum(list: readonly number[]): number {
  let n = 0;
  for (const v of list) n += v;
  return n;
}

export class LiveFeed {
  private readonly streams = new Set<ServerResponse>();
  private readonly history: StatsSample[] = [];
  private readonly maxSamples: number;
  private readonly maxStreams: number;
  private statsTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private last: { atMs: number; received: number; sent: number } | null = null;
  private seen: Snapshot | null = null;

  constructor(
    private readonly host: AdminHost,
    private readonly opts: LiveFeedOptions = {},
  ) {
    const period = opts.statsIntervalMs ?? STATS_INTERVAL_MS;
    this.maxSamples = Math.ceil(HISTORY_MS / period);
    this.maxStreams = opts.maxStreams ?? MAX_EVENT_STREAMS;
  }

  start(): void {
    this.statsTimer = setInterval(() => this.sample(), this.opts.statsIntervalMs ?? STATS_INTERVAL_MS);
    this.statsTimer.unref();
    this.watchTimer = setInterval(() => this.watch(), this.opts.watchIntervalMs ?? WATCH_INTERVAL_MS);
    this.watchTimer.unref();
  }

  stop(): void {
    clearInterval(this.statsTimer);
    clearInterval(this.watchTimer);
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  /** The last hour of samples, oldest first. */
  samples(): readonly StatsSample[] {
    return this.history;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Starts an event stream on `res`; false when too many are open. */
  open(res: ServerResponse): boolean {
    if (this.streams.size >= this.maxStreams) return false;
    res.writeHead(200, {
      ...BASE_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
      // Proxies (nginx) must pass events through as they come.
      'X-Accel-Buffering': 'no',
    });
    // The browser reconnects after this many ms if the stream breaks.
    res.write('retry: 3000\n\n');
    this.streams.add(res);
    if (this.seen === null) this.seen = this.snapshot();
    res.on('close', () => {
      this.streams.delete(res);
      if (this.streams.size === 0) this.seen = null;
    });
    return true;
  }

  /** Sends an event to every open stream. */
  publish(type: FeedEventType, data: unknown): void {
    if (this.streams.size === 0) return;
    const text = `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.streams) res.write(text);
  }

  private sample(): void {
    const nowMs = Date.now();
    const stats = this.host.net()?.stats() ?? null;
    const received = stats === null ? 0 : sum(Object.values(stats.received));
    const sent = stats === null ? 0 : sum(Object.values(stats.sentByType).map((list: readonly number[]) => sum(list)));
    const prev = this.last;
    this.last = { atMs: nowMs, received, sent };
    if (prev === null) return;
    const dt = Math.max(1, nowMs - prev.atMs) / 1000;
    const rate = (n: number): number => Math.round((n / dt) * 10) / 10;
    const sample: StatsSample = {
      at: new Date(nowMs).toISOString(),
      usersOnline: this.host.session()?.listUsers().length ?? 0,
      msgsInPerSec: rate(received - prev.received),
      msgsOutPerSec: rate(sent - prev.sent),
    };
    this.history.push(sample);
    if (this.history.length > this.maxSamples) this.history.splice(0, this.history.length - this.maxSamples);
    this.publish('stats', sample);
  }

  private snapshot(): Snapshot {
    const session = this.host.session();
    const users = new Map<string, boolean>();
    const owners = new Map<string, string>();
    if (session === null) return { users, owners, changeCounter: -1, lastChat: null };
    for (const u of session.listUsers()) users.set(u.name, u.admin);
    for (const name of users.keys()) for (const n of session.lockedNodes(name)) owners.set(n.uuid, name);
    const chat = session.archiveView().chat;
    return { users, owners, changeCounter: session.changeCounter, lastChat: chat.at(-1) ?? null };
  }

  /** Compares the session with the last look and publishes what changed. */
  private watch(): void {
    const before = this.seen;
    const session = this.host.session();
    if (before === null || session === null || this.streams.size === 0) return;
    const at = new Date().toISOString();
    const users = new Map<string, boolean>();
    for (const u of session.listUsers()) users.set(u.name, u.admin);
    for (const [name, admin] of users) if (!before.users.has(name)) this.publish('login', { at, name, admin });
    for (const name of before.users.keys()) if (!users.has(name)) this.publish('leave', { at, name });
    before.users = users;
    if (session.changeCounter !== before.changeCounter) {
      before.changeCounter = session.changeCounter;
      this.publishLocks(session, before, at);
      this.publishChat(session, before);
    }
  }

  private publishLocks(session: Session, before: Snapshot, at: string): void {
    const owners = new Map<string, string>();
    const gained = new Map<string, { uuid: string; name: string | null; type: string | null }[]>();
    for (const name of before.users.keys()) {
      for (const n of session.lockedNodes(name)) {
        owners.set(n.uuid, name);
        if (before.owners.get(n.uuid) !== name) {
          const list = gained.get(name) ?? [];
          list.push(n);
          gained.set(name, list);
        }
      }
    }
    const lost = new Map<string, string[]>();
    for (const [uuid, owner] of before.owners) {
      if (owners.get(uuid) === owner) continue;
      const list = lost.get(owner) ?? [];
      list.push(uuid);
      lost.set(owner, list);
    }
    before.owners = owners;
    for (const [owner, nodes] of gained) {
      this.publish('lock', { at, owner, count: nodes.length, nodes: nodes.slice(0, LOCK_EVENT_NODES) });
    }
    for (const [owner, uuids] of lost) {
      const nodes = uuids.slice(0, LOCK_EVENT_NODES).map((uuid) => ({ uuid }));
      this.publish('unlock', { at, owner, count: uuids.length, nodes });
    }
  }

  private publishChat(session: Session, before: Snapshot): void {
    const chat = session.archiveView().chat;
    const newest = chat.at(-1) ?? null;
    if (newest === before.lastChat) return;
    // Found by identity, not by count: the archive is bounded and drops its oldest messages.
    const from = before.lastChat === null ? 0 : chat.lastIndexOf(before.lastChat) + 1;
    for (const message of chatView(chat.slice(from).slice(-MAX_CHAT_EVENTS))) this.publish('chat', message);
    before.lastChat = newest;
  }
}
