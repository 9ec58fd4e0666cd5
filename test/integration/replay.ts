/**
 * Replays a captured conversation (test/fixtures/data/captures/NN_name.jsonl, the reference client
 * and server on the wire) against our server: one `RawPeer` per captured client label, with the
 * captured identity; every client→server message sent as captured, in captured order; every
 * server→client message the capture shows awaited on the same identity and socket and compared
 * with what we got. `frames_b64` is the ground truth; `decoded` is never read.
 *
 * Tolerances (each is something the reference itself does not fix):
 * - Heartbeat PING/PONG are not replayed: their timing is the server's clock. Captured INITs are
 *   sent; every PING is answered by the peer as the add-on's heartbeat process does.
 * - UpdateClientsState goes out on every heartbeat tick (about once a second, §4.10), so how many
 *   a client gets between two other messages depends on timing. Only two kinds are checked:
 *   those the server sends in reaction to an Auth, a Snapshot DONE or a ServerSnapshot END (the
 *   latest client message before them in the capture is one of those), and the last one each
 *   client received (the settled user list). A check skips earlier lists until one matches, and
 *   `latency` is zeroed on both sides (measured, not protocol). Our `~archive` entry (§7.4: the
 *   chat and tasks kept for clients that join later, an addition of ours) is left out.
 * - Other messages must arrive in the captured order per identity and socket (ZeroMQ is FIFO per
 *   peer and socket, §1.3); across sockets nothing is ordered, so nothing across them is checked.
 * - Commands are compared as decoded values (`viewsEqual`): byte equality is not required, the
 *   Python types are (§2.4). Inside a Snapshot/ServerSnapshot SET the 5 node chunks must be bytes;
 *   the deps and data pickles are compared as values, because after a Commit the server re-pickles
 *   the data it patched. Data-socket relays must be byte-identical (verification.json: 7 of 7).
 * - Messages the capture marks `undelivered` (the client had gone) are not expected.
 *
 * A replay ends with a barrier — a RequestServerInfo round trip per open identity and, when the
 * session runs and two open identities are logged in, a Node relayed between them — after which
 * no identity may hold a message the capture (as patched by the test) does not show. Our
 * deliberate deviations are patched into the steps by the tests, each with its reason.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { encodeNodePush, encodeServerInfoRequest } from '../../src/client/index.js';
import { decodePickle, PyDict, type PyValue, toView, viewsEqual, type View } from '../../src/pickle/index.js';
import { decodeHeartbeat, decodeMessage, MessageType, messageTypeName } from '../../src/protocol/index.js';
import { type Channel, ARCHIVE_USERNAME } from '../../src/session/index.js';
import { fixturePath, loadJsonl } from '../helpers/fixtures.js';
import { nodeBytes, type LogLine, type TestServer } from './harness.js';
import { RawPeer, type Received } from './raw-peer.js';

export interface CaptureRecord {
  readonly t_ms: number;
  readonly socket: 'command' | 'data' | 'ttl';
  readonly dir: 'c2s' | 's2c';
  readonly client: string;
  readonly type_num: number | null;
  readonly frames_b64: string[];
  readonly undelivered?: boolean;
}

export interface Capture {
  readonly name: string;
  readonly records: readonly CaptureRecord[];
  readonly clients: Readonly<Record<string, { readonly identity_hex: string; readonly username: string | null }>>;
  readonly cliArgs: readonly string[];
}

export function loadCapture(name: string): Capture {
  const meta = JSON.parse(readFileSync(fixturePath(`captures/${name}.meta.json`), 'utf8')) as {
    clients: Capture['clients'];
    server_cli_args: string[];
  };
  return { name, records: loadJsonl(`captures/${name}.jsonl`), clients: meta.clients, cliArgs: meta.server_cli_args };
}

/**
 * The reference server's CLI settings of a capture as our `Session` options. Without `-spwd` the
 * reference stores the string `'None'` (§4.2); our CLI takes `-spwd None` literally too.
 */
export function sessionOptionsOf(c: Capture): { adminPassword: string; serverPassword: string; timeoutMs: number } {
  const arg = (flag: string): string | undefined => {
    const i = c.cliArgs.indexOf(flag);
    return i < 0 ? undefined : c.cliArgs[i + 1];
  };
  return {
    adminPassword: arg('-apwd') ?? 'admin',
    serverPassword: arg('-spwd') ?? 'None',
    timeoutMs: Number(arg('-t') ?? 2000),
  };
}

export const framesOf = (r: CaptureRecord): Buffer[] => r.frames_b64.map((f) => Buffer.from(f, 'base64'));

export type Step =
  | { kind: 'send'; at: number; label: string; channel: Channel; frames: Buffer[] }
  | {
      kind: 'expect';
      at: number;
      label: string;
      channel: Channel;
      frames: Buffer[];
      /** An UpdateClientsState check (earlier lists are skipped, latency ignored). */
      userList: boolean;
      timeoutMs?: number;
    }
  | { kind: 'close'; label: string }
  | { kind: 'log'; what: string; match: (l: LogLine) => boolean; timeoutMs?: number };

const UCS = MessageType.UpdateClientsState;
const channelOf = (r: CaptureRecord): Channel => (r.socket === 'ttl' ? 'heartbeat' : r.socket);

/** Whether the server answers this client message with an UpdateClientsState to everyone (§4.2–§4.4). */
function broadcastsUserList(frames: Buffer[]): boolean {
  try {
    const msg = decodeMessage(frames);
    if (msg.type === MessageType.Auth) return true;
    if (msg.type === MessageType.Commit || msg.type === MessageType.Node) return false;
    const state = msg.data instanceof PyDict ? msg.data.get('STATE') : undefined;
    return (
      (msg.type === MessageType.Snapshot && state === 'DONE') ||
      (msg.type === MessageType.ServerSnapshot && state === 'END')
    );
  } catch {
    return false; // hostile frames (capture 10) trigger nothing
  }
}

/** The capture as replay steps (see the file comment for what is sent, awaited and skipped). */
export function stepsOf(c: Capture): Step[] {
  const lastUserList = new Map<string, number>();
  c.records.forEach((r, i) => {
    if (r.dir === 's2c' && r.type_num === UCS && r.undelivered !== true) lastUserList.set(r.client, i);
  });
  const steps: Step[] = [];
  let triggered = false;
  c.records.forEach((r, at) => {
    const frames = framesOf(r);
    const base = { at, label: r.client, channel: channelOf(r), frames };
    if (r.socket === 'ttl') {
      if (r.dir === 'c2s' && decodeHeartbeat(frames) === 'INIT') steps.push({ kind: 'send', ...base });
    } else if (r.dir === 'c2s') {
      steps.push({ kind: 'send', ...base });
      triggered = broadcastsUserList(frames);
    } else if (r.undelivered === true) {
      // the client was gone
    } else if (r.type_num !== UCS) {
      steps.push({ kind: 'expect', ...base, userList: false });
    } else if (triggered || lastUserList.get(r.client) === at) {
      steps.push({ kind: 'expect', ...base, userList: true });
    }
  });
  return steps;
}

function indexOfStep(steps: readonly Step[], at: number): number {
  const i = steps.findIndex((s) => (s.kind === 'send' || s.kind === 'expect') && s.at === at);
  if (i < 0) throw new Error(`no replay step for capture record #${at}`);
  return i;
}

/** The expectation for record `at` (to patch a deviation), which must exist. */
export function expectationAt(steps: readonly Step[], at: number): Step & { kind: 'expect' } {
  const s = steps[indexOfStep(steps, at)];
  if (s.kind !== 'expect') throw new Error(`capture record #${at} is not an expectation`);
  return s;
}

/** Removes the expectation for record `at` (the capture shows a reference bug we do not copy). */
export function dropExpectation(steps: Step[], at: number): void {
  expectationAt(steps, at);
  steps.splice(indexOfStep(steps, at), 1);
}

/** Inserts steps right before the step for record `at`. Synthetic expectations use `at: -1`. */
export function insertBefore(steps: Step[], at: number, ...extra: Step[]): void {
  steps.splice(indexOfStep(steps, at), 0, ...extra);
}

/** Inserts steps right after the step for record `at`. */
export function insertAfter(steps: Step[], at: number, ...extra: Step[]): void {
  steps.splice(indexOfStep(steps, at) + 1, 0, ...extra);
}

/** A message as comparable JSON: see the file comment for what is compared how. */
export function comparable(frames: readonly Uint8Array[]): View {
  const msg = decodeMessage(frames);
  const name = messageTypeName(msg.type);
  if (msg.type === MessageType.Commit) {
    const delta = toView(decodePickle(msg.deltaBytes));
    return { type: name, node_id: msg.nodeId, deps: toView(msg.deps), delta };
  }
  if (msg.type === MessageType.Node) {
    const data = toView(decodePickle(msg.dataBytes));
    return { type: name, uuid: msg.uuid, owner: msg.owner, deps: toView(msg.deps), data };
  }
  const data = msg.data;
  if (msg.type === UCS && data instanceof PyDict) {
    return { type: name, owner: msg.owner, data: toView(withoutLatency(data)) };
  }
  const view = toView(data);
  const chunks = data instanceof PyDict ? data.get('DATA') : undefined;
  if ((msg.type === MessageType.Snapshot || msg.type === MessageType.ServerSnapshot) && Array.isArray(chunks)) {
    (view as Record<string, View>).DATA = chunkView(chunks);
  }
  return { type: name, owner: msg.owner, data: view };
}

function withoutLatency(users: PyDict): PyDict {
  const out = new PyDict();
  for (const [name, record] of users.entries()) {
    if (name === ARCHIVE_USERNAME) continue;
    if (!(record instanceof PyDict)) {
      out.set(name, record);
      continue;
    }
    const copy = new PyDict();
    for (const [k, v] of record.entries()) copy.set(k, k === 'latency' ? 0n : v);
    out.set(name, copy);
  }
  return out;
}

function chunkView(chunks: PyValue[]): View {
  if (chunks.length !== 5 || !chunks.every((c) => c instanceof Uint8Array)) return toView(chunks);
  const [type, uuid, owner, deps, data] = chunks as Uint8Array[];
  return {
    node_chunks: [type, uuid, owner].map((c) => toView(c)),
    deps: toView(decodePickle(deps)),
    data: toView(decodePickle(data)),
  };
}

function describe(r: Received): string {
  try {
    return JSON.stringify(comparable(r.frames)).slice(0, 400);
  } catch (err) {
    return `undecodable ${r.channel} message (${String(err)})`;
  }
}

const DEFAULT_STEP_TIMEOUT_MS = 10_000;

/** One replay against a running test server. `close()` belongs in the test's teardown. */
export class Replay {
  readonly peers = new Map<string, RawPeer>();
  /** Expectations met. */
  matched = 0;
  private readonly lastSeq = new Map<string, number>();

  constructor(
    private readonly ts: TestServer,
    private readonly capture: Capture,
  ) {}

  peer(label: string): RawPeer {
    let p = this.peers.get(label);
    if (p === undefined) {
      const client = this.capture.clients[label];
      if (client === undefined) throw new Error(`${this.capture.name}: no client ${label} in the meta file`);
      p = new RawPeer(label, Buffer.from(client.identity_hex, 'hex'), '127.0.0.1', this.ts.port);
      this.peers.set(label, p);
    }
    return p;
  }

  async play(steps: readonly Step[]): Promise<void> {
    for (const step of steps) {
      switch (step.kind) {
        case 'send':
          await this.peer(step.label).send(step.channel, step.frames);
          break;
        case 'expect':
          await (step.userList ? this.expectUserList(step) : this.expectMessage(step));
          this.matched++;
          break;
        case 'close':
          await this.peer(step.label).close();
          break;
        case 'log':
          await this.ts.logs.waitFor(step.match, step.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS).catch(() => {
            throw new Error(`${this.capture.name}: no log line ${step.what}`);
          });
          break;
      }
    }
  }

  /** The barrier and the check that nothing unexpected arrived (see the file comment). */
  async finish(): Promise<void> {
    const open = [...this.peers.values()].filter((p) => !p.closed);
    for (const p of open) {
      await p.send('command', encodeServerInfoRequest());
      await p.take((r) => r.type === MessageType.RequestServerInfo, 5000, 'RequestServerInfo reply (barrier)');
    }
    const users = new Set(this.ts.session.listUsers().map((u) => u.clientId));
    const members = open.filter((p) => users.has(p.identity.toString('hex')));
    if (this.ts.session.phase === 'ACTIVE' && members.length >= 2) {
      for (const [n, pusher] of members.slice(0, 2).entries()) {
        const uuid = `ffffffff-0000-4000-8000-00000000000${n}`;
        await pusher.send('data', encodeNodePush({ uuid, owner: 'COMMON', deps: [], dataBytes: nodeBytes(uuid) }));
        for (const p of members) {
          if (p === pusher) continue;
          await p.take(
            (r) => r.type === MessageType.Node && r.frames[1]?.toString() === uuid,
            5000,
            'relayed Node (barrier)',
          );
        }
      }
    }
    for (const p of this.peers.values()) {
      const extra = p.pending((r) => r.channel !== 'heartbeat' && r.type !== UCS).map(describe);
      assert.deepEqual(extra, [], `${this.capture.name}: ${p.label} got messages the capture does not show`);
    }
    assert.equal(this.ts.server.stats().sessionErrors, 0, 'the session never threw');
  }

  async close(): Promise<void> {
    await Promise.all([...this.peers.values()].map((p) => p.close()));
  }

  private where(step: Step & { kind: 'expect' }): string {
    return `${this.capture.name} #${step.at} (${step.label}, ${step.channel})`;
  }

  private checkOrder(step: Step & { kind: 'expect' }, got: Received): void {
    const key = `${step.label}/${step.channel}`;
    const last = this.lastSeq.get(key) ?? 0;
    assert.ok(got.seq > last, `${this.where(step)}: arrived before a message the capture puts earlier`);
    this.lastSeq.set(key, got.seq);
  }

  private async expectMessage(step: Step & { kind: 'expect' }): Promise<void> {
    const got = await this.peer(step.label).take(
      (r) => r.channel === step.channel && r.type !== UCS,
      step.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
      `message for ${this.where(step)}`,
    );
    const want = comparable(step.frames);
    const have = comparable(got.frames);
    assert.ok(
      viewsEqual(have, want),
      `${this.where(step)} differs:\n  want ${JSON.stringify(want).slice(0, 1500)}\n  got  ${JSON.stringify(have).slice(0, 1500)}`,
    );
    if (step.channel === 'data') {
      assert.deepEqual(got.frames, step.frames, `${this.where(step)}: relay not byte-identical`);
    }
    this.checkOrder(step, got);
  }

  private async expectUserList(step: Step & { kind: 'expect' }): Promise<void> {
    const want = comparable(step.frames);
    const peer = this.peer(step.label);
    const deadline = Date.now() + (step.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS);
    const after = this.lastSeq.get(`${step.label}/${step.channel}`) ?? 0;
    let seen: View | undefined;
    for (;;) {
      const remaining = deadline - Date.now();
      const got = await (remaining > 0
        ? peer.take((r) => r.channel === 'command' && r.type === UCS, remaining, 'user list').catch(() => undefined)
        : undefined);
      if (got === undefined) {
        assert.fail(
          `${this.where(step)}: no matching user list\n  want ${JSON.stringify(want)}\n  last ${JSON.stringify(seen)}`,
        );
      }
      if (got.seq <= after) continue; // sent before a message the capture shows earlier
      seen = comparable(got.frames);
      if (viewsEqual(seen, want)) {
        this.checkOrder(step, got);
        return;
      }
    }
  }
}
