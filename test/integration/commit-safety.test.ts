/**
 * Over real sockets: a logged-in user's hostile Commits (paths deepdiff 8.1.1 would follow into
 * attributes on the other clients, CVE-2025-58367; a global their unpickler forbids; a report key
 * it would ignore) reach nobody and change nothing, and each is logged naming the user; a real
 * add-on Commit sent afterwards still reaches the others.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, test } from 'node:test';

import type { ClientEvent } from '../../src/client/index.js';
import { decodePickle, toView } from '../../src/pickle/index.js';
import { MessageType, OWNER_COMMON } from '../../src/protocol/index.js';
import { fixturePath } from '../helpers/fixtures.js';
import { hostileDeltas } from '../helpers/hostile-deltas.js';
import { startTestServer, uuidOf, type TestServer } from './harness.js';

let ts: TestServer | undefined;
afterEach(async () => {
  await ts?.close();
  ts = undefined;
});

/** A node and a Commit recorded from the real client (deepdiff 8.1.1), with Python's result. */
function captured(part: 'base' | 'delta' | 'result'): Buffer {
  return readFileSync(fixturePath(`captures/samples/delta_cases/values_changed.${part}.pkl`));
}

const isData = (e: ClientEvent): boolean => e.type === 'data';

test('hostile Commits are neither relayed nor applied, each is logged with the user, and a real Commit still relays', async () => {
  ts = await startTestServer();
  const server = ts;
  const id = uuidOf(1);
  const alice = await server.initWith([{ uuid: uuidOf(9) }]);
  const bob = server.client('bob');
  assert.equal(await bob.login(), 'RUNNING');
  await bob.join();
  await alice.pushNode({ uuid: id, owner: OWNER_COMMON, dataBytes: captured('base') });
  await bob.waitForData((m) => m.type === MessageType.Node && m.uuid === id);
  const stored = (): Buffer =>
    Buffer.from(server.session.exportImage().nodes.find((n) => n.uuid === id)?.dataBytes ?? []);
  const before = stored();

  const attacks = hostileDeltas();
  for (const [i, attack] of attacks.entries()) {
    // One attacker per delta: the warnings are rate-limited per client.
    const name = `mallory${i}`;
    const mallory = server.client(name);
    assert.equal(await mallory.login(), 'RUNNING');
    await mallory.pushCommit({ nodeId: id, deltaBytes: attack.bytes });
    const line = await server.logs.waitFor((l) => l.level === 'warn' && l.message.includes(`from ${name} refused`));
    assert.ok(line.message.includes(attack.code), `${attack.name}: ${line.message}`);
  }
  assert.deepEqual(stored(), before);

  await alice.pushCommit({ nodeId: id, deltaBytes: captured('delta') });
  const relayed = await bob.waitForData((m) => m.type === MessageType.Commit);
  // Per-socket FIFO: a relayed hostile Commit would have reached bob before this one.
  assert.equal(relayed.type === MessageType.Commit && relayed.nodeId, id);
  assert.deepEqual(relayed.type === MessageType.Commit && Buffer.from(relayed.deltaBytes), captured('delta'));
  assert.deepEqual(bob.mailbox.peek(isData), []);
  assert.deepEqual(toView(decodePickle(stored())), toView(decodePickle(captured('result'))));
});
