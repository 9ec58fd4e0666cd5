import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import type { PyDict } from '../../src/pickle/index.js';
import { MessageType } from '../../src/protocol/index.js';
import { LEAVE_REASON_NO_HEARTBEAT, logLogout, type Effect } from '../../src/session/index.js';
import { fixturePath, loadJsonl } from '../helpers/fixtures.js';
import { authFrames, commandsTo, Harness, heartbeatsTo, logs, userList } from './helpers.js';

const names = (h: Harness): string[] => h.session.listUsers().map((u) => u.name);

/** Ticks every `step` ms from h.now (exclusive) to `until` (inclusive); `onTick` may answer pings. */
function runTicks(h: Harness, until: number, step = 100, onTick?: (fx: Effect[]) => void): Effect[] {
  const all: Effect[] = [];
  for (let t = h.now + step; t <= until; t += step) {
    const fx = h.tick(t);
    all.push(...fx);
    onTick?.(fx);
  }
  return all;
}

describe('heartbeat', () => {
  test('INIT is answered with an immediate PING', () => {
    const h = new Harness();
    const id = h.login('alice', { heartbeat: false });
    assert.deepEqual(heartbeatsTo(h.heartbeat(id, 'INIT'), id), ['PING']);
  });

  test('a client answering every PING is pinged about once a second and shows its latency', () => {
    const h = new Harness({ timeoutMs: 3000 });
    const id = h.login('alice');
    const fx = runTicks(h, h.now + 10_000, 100, (tick) => {
      if (heartbeatsTo(tick, id).length > 0) h.heartbeat(id, 'PONG');
    });
    const pings = heartbeatsTo(fx, id).length;
    assert.ok(pings >= 9 && pings <= 10, `${pings} pings`);
    assert.equal((userList(fx, id).get('alice') as PyDict).get('latency'), 0n);
    assert.deepEqual(names(h), ['alice']);
  });

  test('the user list goes to every logged-in client once a second', () => {
    const h = new Harness();
    const a = h.login('alice');
    const b = h.login('bob');
    const fx = runTicks(h, h.now + 5000);
    for (const id of [a, b]) assert.equal(commandsTo(fx, id, MessageType.UpdateClientsState).length, 5);
  });

  test('replaying capture 07 with -t 3000: pinged at the same instants and lost at the same tick, 3093 ms after the last PONG', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- capture records, narrowed below
    const records: any[] = loadJsonl('captures/07_heartbeat_timeout.jsonl');
    const ids: Record<string, string> = {
      A: '5a01bb8733ec439e87e93ee582562390',
      R: '3228b10e874546c890ea14a1b5888ff4',
    };
    const h = new Harness({ adminPassword: 'admin', timeoutMs: 3000 });
    const pingsToR: number[] = [];
    let removedAt: number | undefined;
    let lastPong = 0;
    for (const r of records) {
      if (!(r.client in ids) || (r.client === 'A' && r.socket === 'ttl')) continue;
      const frames = (r.frames_b64 as string[]).map((b) => Buffer.from(b, 'base64'));
      const periodic =
        r.dir === 's2c' && r.client === 'A' && r.type_num === MessageType.UpdateClientsState && r.t_ms > 2150;
      // Ticks start at the reference's first periodic tick, so that the once-a-second phase matches.
      const pingTime = r.dir === 's2c' && r.socket === 'ttl' && r.client === 'R' && r.t_ms > 2150;
      let fx: Effect[] = [];
      if (periodic || pingTime) fx = h.tick(r.t_ms);
      else if (r.dir === 'c2s') {
        h.at(r.t_ms);
        fx = h.message(r.socket === 'ttl' ? 'heartbeat' : 'command', ids[r.client], frames);
        if (r.socket === 'ttl' && r.client === 'R') lastPong = r.t_ms;
      }
      if (heartbeatsTo(fx, ids.R).length > 0) pingsToR.push(h.now);
      if (removedAt === undefined && fx.some((e) => e.type === 'forget' && e.client === ids.R)) removedAt = h.now;
    }
    const meta = JSON.parse(readFileSync(fixturePath('captures/07_heartbeat_timeout.meta.json'), 'utf8')) as {
      facts: {
        rob_removed_at_ms: number;
        rob_last_pong_ms: number;
        pings_to_R_after_stop: number[];
        t_stop_ms: number;
      };
    };
    assert.equal(lastPong, meta.facts.rob_last_pong_ms);
    assert.deepEqual(
      pingsToR.filter((t) => t > meta.facts.t_stop_ms),
      meta.facts.pings_to_R_after_stop,
    );
    assert.equal(removedAt, meta.facts.rob_removed_at_ms);
    assert.equal(Math.round((removedAt as number) - lastPong), 3093);
  });

  test('LOST needs a latency strictly greater than the timeout', () => {
    const h = new Harness({ timeoutMs: 3000 });
    const id = h.login('alice');
    const t0 = h.now;
    h.tick(t0 + 1000);
    h.tick(t0 + 2000);
    h.tick(t0 + 3000); // ping at +3000: latency exactly 3000
    assert.deepEqual(names(h), ['alice']);
    const fx = h.tick(t0 + 4000);
    assert.deepEqual(names(h), []);
    assert.ok(fx.some((e) => e.type === 'forget' && e.client === id));
    const h2 = new Harness({ timeoutMs: 3000 });
    h2.login('alice');
    h2.tick(t0 + 1000);
    h2.tick(t0 + 2000);
    h2.tick(t0 + 3001);
    assert.deepEqual(names(h2), []);
  });

  test('an INIT that arrives before the Auth is honoured once the client logs in', () => {
    const h = new Harness({ timeoutMs: 3000 });
    const id = h.newIdentity();
    assert.deepEqual(heartbeatsTo(h.heartbeat(id, 'INIT'), id), ['PING']);
    h.heartbeat(id, 'PONG');
    runTicks(h, h.now + 1600);
    h.command(id, authFrames('tia'));
    const fx = runTicks(h, h.now + 60_000, 100, (tick) => {
      if (heartbeatsTo(tick, id).length > 0) h.heartbeat(id, 'PONG');
    });
    assert.ok(heartbeatsTo(fx, id).length >= 55);
    assert.deepEqual(names(h), ['tia']);
  });

  test('a pending INIT is forgotten after preAuthHeartbeatMs and never pinged again', () => {
    const h = new Harness({ preAuthHeartbeatMs: 5000 });
    const id = h.newIdentity();
    h.heartbeat(id, 'INIT');
    assert.deepEqual(heartbeatsTo(runTicks(h, h.now + 6000), id), []);
    const late = h.heartbeat(id, 'PONG');
    assert.equal(logs(late, 'debug').length, 1);
    h.command(id, authFrames('tia'));
    assert.deepEqual(heartbeatsTo(runTicks(h, h.now + 3000), id), []);
  });

  test('pending INITs are bounded: the oldest is evicted', () => {
    const h = new Harness({ limits: { maxPendingHeartbeats: 2 } });
    const [a, b, c] = [h.newIdentity(), h.newIdentity(), h.newIdentity()];
    for (const id of [a, b, c]) h.heartbeat(id, 'INIT');
    h.command(a, authFrames('a'));
    h.command(b, authFrames('b'));
    const fx = runTicks(h, h.now + 1500);
    assert.deepEqual(heartbeatsTo(fx, a), []);
    assert.deepEqual(heartbeatsTo(fx, b), ['PING']);
  });

  test('a logged-in client whose heartbeat never starts is dropped after the grace period', () => {
    const h = new Harness({ heartbeatGraceMs: 30_000 });
    const t0 = h.now;
    h.login('sam', { heartbeat: false });
    runTicks(h, t0 + 30_000);
    assert.deepEqual(names(h), ['sam']);
    const fx = runTicks(h, t0 + 31_100);
    assert.deepEqual(names(h), []);
    assert.ok(logs(fx, 'info').some((l) => l.message === logLogout('sam', LEAVE_REASON_NO_HEARTBEAT)));
  });

  test('a heartbeat message of several frames is logged and ignored, and the heartbeat goes on', () => {
    const h = new Harness({ timeoutMs: 3000 });
    const id = h.login('alice');
    const fx = h.message('heartbeat', id, [Buffer.from('PONG'), Buffer.from('PONG')]);
    assert.equal(logs(fx, 'warn').length, 1);
    assert.equal(fx.filter((e) => e.type !== 'log').length, 0);
    const later = runTicks(h, h.now + 3000, 100, (tick) => {
      if (heartbeatsTo(tick, id).length > 0) h.heartbeat(id, 'PONG');
    });
    assert.ok(heartbeatsTo(later, id).length >= 2);
  });
});
