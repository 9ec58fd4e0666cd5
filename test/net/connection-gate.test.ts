/**
 * The connection gate's count and its "no connection left" notice (what a live restore waits
 * on after disconnecting everyone): called on the last release only, at once when nothing is
 * open, never after being cancelled.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConnectionGate } from '../../src/net/zmtp/gate.js';

const OPEN = { maxConnections: 10, maxConnectionsPerAddress: 10, newConnectionsPerAddressPerSecond: 10 };

test('whenEmpty fires once, when the last open connection is released', () => {
  const gate = new ConnectionGate(OPEN, () => 0);
  assert.equal(gate.admit('10.0.0.1'), null);
  assert.equal(gate.admit('10.0.0.2'), null);
  let calls = 0;
  gate.whenEmpty(() => calls++);
  gate.release('10.0.0.1');
  assert.equal(calls, 0, 'one connection is still open');
  gate.release('10.0.0.2');
  assert.equal(calls, 1);
  assert.equal(gate.admit('10.0.0.1'), null);
  gate.release('10.0.0.1');
  assert.equal(calls, 1, 'a waiter is called once, not at every later emptying');
});

test('whenEmpty fires at once with nothing open, and not at all once cancelled', () => {
  const gate = new ConnectionGate(OPEN, () => 0);
  let now = 0;
  gate.whenEmpty(() => now++);
  assert.equal(now, 1);
  assert.equal(gate.admit('10.0.0.1'), null);
  let later = 0;
  const cancel = gate.whenEmpty(() => later++);
  cancel();
  gate.release('10.0.0.1');
  assert.equal(later, 0);
});
