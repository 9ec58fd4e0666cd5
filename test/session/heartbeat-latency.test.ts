/**
 * The latency a healthy client shows (§4.13): with discrete ticks, a tick sometimes both sends a
 * PING and measures latencies; that PING cannot have been answered yet, so it must not count.
 * Driven on the pure session with a fake clock: ticks every 100 ms, PONG 1 ms after each PING.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { encodeAuthRequest } from '../../src/client/index.js';
import { PyDict } from '../../src/pickle/index.js';
import { decodeMessage, encodeHeartbeat, MessageType } from '../../src/protocol/index.js';
import { Session, type Effect } from '../../src/session/index.js';

/** Latencies of `name` in the user lists over `durationMs`, and whether it is still logged in. */
function run(timeoutMs: number, durationMs: number): { latencies: bigint[]; present: boolean } {
  const session = new Session({ adminPassword: 'admin', timeoutMs });
  const id = 'ab'.repeat(16);
  let now = 1_000_000;
  let pongAt: number | undefined;
  const latencies: bigint[] = [];
  const apply = (effects: Effect[]): void => {
    for (const e of effects) {
      if (e.type !== 'send' || !e.to.includes(id)) continue;
      if (e.channel === 'heartbeat') pongAt = now + 1;
      const msg = e.channel === 'command' ? decodeMessage(e.frames) : undefined;
      if (msg?.type === MessageType.UpdateClientsState && msg.data instanceof PyDict) {
        const record = msg.data.get('tia');
        if (record instanceof PyDict) latencies.push(record.get('latency') as bigint);
      }
    }
  };
  const message = (channel: 'command' | 'heartbeat', frames: Buffer[]): void =>
    apply(session.handle({ type: 'message', channel, from: id, frames, now }));
  message('command', encodeAuthRequest({ username: 'tia' }));
  message('heartbeat', encodeHeartbeat('INIT'));
  for (let t = 1; t <= durationMs; t++) {
    now += 1;
    if (pongAt !== undefined && now >= pongAt) {
      pongAt = undefined;
      message('heartbeat', encodeHeartbeat('PONG'));
    }
    if (t % 100 === 0) apply(session.handle({ type: 'tick', now }));
  }
  return { latencies, present: session.listUsers().some((u) => u.name === 'tia') };
}

test('a client answering every PING within 1 ms never shows a latency near a ping period', () => {
  const { latencies } = run(10_000, 60_000);
  assert.ok(latencies.length >= 55, `${latencies.length} user lists`);
  const measured = latencies.filter((l) => l !== 999n); // 999 until the first measurement (§3.3)
  assert.ok(
    measured.every((l) => l <= 1n),
    `latencies: ${measured.join(' ')}`,
  );
});

test('with a timeout below one ping period a client answering every PING is never timed out', () => {
  const { present } = run(500, 60_000);
  assert.equal(present, true);
});
