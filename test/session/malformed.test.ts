/**
 * Malformed input never throws out of `handle` and never stops anything: every crash vector of the
 * reference (captures/crash_vectors.json) and a bounded, seeded fuzz on all three sockets, after
 * which a well-behaved client still logs in, initialises and joins.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { PyDict } from '../../src/pickle/index.js';
import { encodeCommand, MessageType, strDict } from '../../src/protocol/index.js';
import type { Channel, Effect, SessionEvent } from '../../src/session/index.js';
import { fixturePath } from '../helpers/fixtures.js';
import {
  authFrames,
  authReply,
  commandsTo,
  commitFrames,
  deleteFrames,
  Harness,
  heartbeatsTo,
  kickFrames,
  logs,
  metadataFrames,
  nodeData,
  nodeFrames,
  renameDelta,
  rightFrames,
  serverInfoFrames,
  serverSnapshotFrames,
  snapshotFrames,
} from './helpers.js';
import { prng } from '../helpers/prng.js';

/** Checks that the session still serves: server info, a login, an init (if needed) and a join. */
function assertStillWorks(h: Harness): void {
  const probe = h.newIdentity();
  assert.equal(commandsTo(h.command(probe, serverInfoFrames()), probe, MessageType.RequestServerInfo).length, 1);
  const admin = h.login(`admin${h.now}`, { admin: true });
  if (h.session.phase === 'WAITING') h.init(admin, 2);
  assert.equal(h.session.phase, 'ACTIVE');
  const joiner = h.newIdentity();
  assert.equal(authReply(h.command(joiner, authFrames(`joiner${h.now}`)), joiner), 'RUNNING');
  const init = commandsTo(h.command(joiner, snapshotFrames([['STATE', 'REQUEST_INIT']])), joiner, MessageType.Snapshot);
  assert.ok(((init[0].data as PyDict).get('CATALOG') as string[]).length > 0);
  assert.deepEqual(heartbeatsTo(h.heartbeat(joiner, 'INIT'), joiner), ['PING']);
  h.now += 1;
}

/** No internal error may be logged: malformed input is an expected outcome, not a bug. */
function assertNoInternalError(fx: readonly Effect[]): void {
  assert.deepEqual(logs(fx, 'error'), []);
}

type Vector = (h: Harness, user: string, stranger: string) => Effect[];

const VECTORS: Record<string, Vector> = {
  kick_without_user: (h, user, s) => [
    ...h.command(s, encodeCommand(MessageType.Kick, 'x', new PyDict())),
    ...h.command(user, encodeCommand(MessageType.Kick, 'x', new PyDict())),
  ],
  auth_data_not_a_dict: (h, _u, s) => h.command(s, encodeCommand(MessageType.Auth, 'x', 'alice')),
  server_snapshot_END_unauthenticated: (h, _u, s) => h.command(s, serverSnapshotFrames([['STATE', 'END']])),
  server_snapshot_SET_before_INIT: (h, user) =>
    h.command(
      user,
      serverSnapshotFrames([
        ['STATE', 'SET'],
        ['DATA', nodeFrames('n', 'COMMON', [], nodeData('n'))],
      ]),
    ),
  server_snapshot_INIT_when_ACTIVE: (h, user) => {
    h.init(user, 1);
    return h.command(
      user,
      serverSnapshotFrames([
        ['STATE', 'INIT'],
        ['NODES', ['x']],
      ]),
    );
  },
  server_snapshot_SET_unlisted_node: (h, user) => [
    ...h.command(
      user,
      serverSnapshotFrames([
        ['STATE', 'INIT'],
        ['NODES', ['a']],
      ]),
    ),
    ...h.command(
      user,
      serverSnapshotFrames([
        ['STATE', 'SET'],
        ['DATA', nodeFrames('b', 'COMMON', [], nodeData('b'))],
      ]),
    ),
    ...h.command(
      user,
      serverSnapshotFrames([
        ['STATE', 'SET'],
        ['DATA', nodeFrames('a', 'COMMON', [], nodeData('a'))],
      ]),
    ),
  ],
  server_snapshot_INIT_unauthenticated: (h, _u, s) =>
    h.command(
      s,
      serverSnapshotFrames([
        ['STATE', 'INIT'],
        ['NODES', ['x']],
      ]),
    ),
  snapshot_GET_without_ID: (h, user) => h.command(user, snapshotFrames([['STATE', 'GET']])),
  snapshot_without_STATE: (h, user) => h.command(user, snapshotFrames([])),
  right_uuid_none: (h, user) =>
    h.command(
      user,
      encodeCommand(
        MessageType.Right,
        'u',
        strDict([
          ['uuid', null],
          ['owner', 'COMMON'],
        ]),
      ),
    ),
  delete_none: (h, user) => h.command(user, deleteFrames(null)),
  too_few_frames: (h, user, s) => [
    ...h.command(s, [kickFrames('x', 'y')[0]]),
    ...h.command(user, [kickFrames('x', 'y')[0]]),
  ],
  not_a_pickle: (h, user, s) => {
    const text = ['hello', 'world', 'again'].map((t) => Buffer.from(t));
    return [...h.command(s, text), ...h.command(user, text), ...h.data(user, text)];
  },
  metadata_not_a_dict: (h, user) => h.command(user, metadataFrames('u', [1n, 2n])),
  ttl_two_frames: (h, user, s) => [
    ...h.message('heartbeat', user, [Buffer.from('PONG'), Buffer.from('PONG')]),
    ...h.message('heartbeat', s, [Buffer.from('INIT'), Buffer.from('INIT')]),
  ],
};

describe('crash vectors of the reference server', () => {
  const listed = (
    JSON.parse(readFileSync(fixturePath('captures/crash_vectors.json'), 'utf8')) as { server: { vector: string }[] }
  ).server.map((v) => v.vector);

  test('every server crash vector of the capture set is covered', () => {
    assert.deepEqual(
      listed.filter((v) => !(v in VECTORS)),
      [],
    );
  });

  for (const name of listed) {
    test(name, () => {
      const h = new Harness();
      const user = h.login('victim', { admin: true });
      const fx = VECTORS[name](h, user, h.newIdentity());
      assertNoInternalError(fx);
      assert.ok(logs(fx).length > 0, 'the rejection is logged');
      assertStillWorks(h);
    });
  }
});

describe('fuzz', () => {
  test('random and mutated frames on all three sockets never throw or log an internal error, and a client still works', () => {
    const rnd = prng(0x5eed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)];
    const h = new Harness({ timeoutMs: 60_000 });
    const admin = h.login('root', { admin: true });
    h.init(admin, 3);
    const user = h.login('user');
    const senders = [admin, user, h.newIdentity(), h.newIdentity()];
    const seeds: Buffer[][] = [
      authFrames('fuzzer'),
      serverInfoFrames(),
      nodeFrames('fz', 'COMMON', ['a'], nodeData('fz')),
      commitFrames('fz', [], renameDelta('Y')),
      deleteFrames('fz'),
      rightFrames('user', ['fz'], 'user'),
      kickFrames('root', 'user'),
      metadataFrames('user', strDict([['frame_current', 3n]])),
      snapshotFrames([
        ['STATE', 'GET'],
        ['ID', 'fz'],
      ]),
      serverSnapshotFrames([
        ['STATE', 'INIT'],
        ['NODES', ['q']],
      ]),
      [Buffer.from('INIT')],
    ];
    for (let i = 0; i < 3000; i++) {
      let frames = pick(seeds).map((f) => Buffer.from(f));
      const op = rnd();
      if (op < 0.5) {
        const f = frames[Math.floor(rnd() * frames.length)];
        for (let k = 0; k < 1 + rnd() * 4 && f.length > 0; k++)
          f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
      } else if (op < 0.7) {
        const j = Math.floor(rnd() * frames.length);
        frames[j] = frames[j].subarray(0, Math.floor(rnd() * frames[j].length));
      } else if (op < 0.8) {
        frames = frames.slice(0, Math.floor(rnd() * frames.length));
      } else if (op < 0.9) {
        frames = [...frames, ...frames];
      } else {
        frames = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () =>
          Buffer.from(Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256))),
        );
      }
      const channel = pick<Channel>(['command', 'data', 'heartbeat']);
      h.now += 7;
      const event: SessionEvent = { type: 'message', channel, from: pick(senders), frames, now: h.now };
      const fx = h.session.handle(event);
      assertNoInternalError(fx);
      if (i % 50 === 0) assertNoInternalError(h.tick(h.now));
    }
    assertStillWorks(h);
  });

  test('an internal error is logged at error level and handle still returns', () => {
    const h = new Harness();
    const fx = h.session.handle({ type: 'message', channel: 'command', from: 'x', frames: null as never, now: 1 });
    assert.equal(logs(fx, 'error').length, 1);
    assertStillWorks(h);
  });
});
