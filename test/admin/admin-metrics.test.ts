/**
 * `/metrics` scraped and parsed while a real session runs: the documented families exist with
 * their types, and their values move as our client logs in, commits, locks and leaves, and as
 * saves happen. Journal fsync is `always` so every accepted change is fsynced before its relay.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { MessageType } from '../../src/protocol/index.js';
import { closeAll } from '../integration/cli-server.js';
import { nodeBytes, renameDelta, uuidOf } from '../integration/harness.js';
import { parsePrometheusText, sampleOrZero, sampleValue, type Exposition } from '../helpers/prometheus-text.js';
import { startConsoleServer, type ConsoleServer } from './console-harness.js';

let s: ConsoleServer;
before(async () => {
  s = await startConsoleServer({ journalFsync: 'always' });
});
after(async () => {
  await s.close();
  await closeAll();
});

async function scrape(): Promise<Exposition> {
  const r = await s.api('/metrics');
  assert.equal(r.status, 200);
  return parsePrometheusText(r.text);
}

const FAMILIES: Record<string, string> = {
  multiuser_ready: 'gauge',
  multiuser_users: 'gauge',
  multiuser_nodes: 'gauge',
  multiuser_session_bytes: 'gauge',
  multiuser_messages_received_total: 'counter',
  multiuser_messages_sent_total: 'counter',
  multiuser_relay_latency_seconds: 'histogram',
  multiuser_send_queue_messages: 'gauge',
  multiuser_send_queue_bytes: 'gauge',
  multiuser_send_queue_drops_total: 'counter',
  multiuser_rejected_messages_total: 'counter',
  multiuser_connections: 'gauge',
  multiuser_stranger_connections: 'gauge',
  multiuser_connections_total: 'counter',
  multiuser_journal_appends_total: 'counter',
  multiuser_journal_appended_bytes_total: 'counter',
  multiuser_journal_failures_total: 'counter',
  multiuser_journal_fsync_seconds: 'histogram',
  multiuser_journal_writable: 'gauge',
  multiuser_journal_held_changes: 'gauge',
  multiuser_saves_total: 'counter',
  multiuser_save_duration_seconds: 'histogram',
  multiuser_last_save_bytes: 'gauge',
  multiuser_last_successful_save_timestamp_seconds: 'gauge',
  multiuser_backups: 'gauge',
  multiuser_backups_bytes: 'gauge',
  multiuser_data_dir_free_bytes: 'gauge',
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
};

test('every documented metric family is exposed with its type', async () => {
  const exp = await scrape();
  for (const [name, type] of Object.entries(FAMILIES)) {
    assert.equal(exp.get(name)?.type, type, `${name} is a ${type}`);
  }
  assert.equal(sampleValue(exp, 'multiuser_ready'), 1);
  assert.ok(sampleValue(exp, 'multiuser_data_dir_free_bytes') > 0);
});

test('values move as a client logs in, commits, locks and leaves, and as saves happen', async () => {
  const e0 = await scrape();
  assert.equal(sampleValue(e0, 'multiuser_users', { state: 'active' }), 0);
  assert.equal(sampleValue(e0, 'multiuser_nodes'), 0);

  const alice = s.client('alice', true);
  assert.equal(await alice.login(), 'LOBBY');
  assert.equal(await alice.init([{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]), 'ACCEPTED');
  const bob = s.client('bob');
  await bob.login();
  await bob.join();
  const e1 = await scrape();
  assert.equal(sampleValue(e1, 'multiuser_users', { state: 'active' }), 2);
  assert.equal(sampleValue(e1, 'multiuser_nodes'), 1);
  assert.ok(sampleValue(e1, 'multiuser_session_bytes') > 0);
  assert.ok(sampleValue(e1, 'multiuser_messages_received_total', { socket: 'command', type: 'Auth' }) >= 2);
  assert.ok(sampleValue(e1, 'multiuser_connections') >= 6, 'two clients hold three connections each');
  assert.ok(sampleValue(e1, 'multiuser_connections_total', { result: 'accepted' }) >= 6);

  await alice.pushNode({ uuid: uuidOf(2), dataBytes: nodeBytes(uuidOf(2), 'Lamp') });
  await bob.waitForData((m) => m.type === MessageType.Node && m.uuid === uuidOf(2));
  await alice.pushCommit({ nodeId: uuidOf(2), deltaBytes: renameDelta('Lamp.001') });
  await bob.waitForData((m) => m.type === MessageType.Commit && m.nodeId === uuidOf(2));
  const e2 = await scrape();
  assert.equal(sampleValue(e2, 'multiuser_nodes'), 2);
  assert.ok(sampleValue(e2, 'multiuser_session_bytes') > sampleValue(e1, 'multiuser_session_bytes'));
  assert.equal(sampleValue(e2, 'multiuser_messages_received_total', { socket: 'data', type: 'Commit' }), 1);
  assert.ok(sampleValue(e2, 'multiuser_messages_sent_total', { socket: 'data', type: 'Node' }) >= 1, 'relayed to bob');
  assert.equal(sampleValue(e2, 'multiuser_messages_sent_total', { socket: 'data', type: 'Commit' }), 1);
  const relays = sampleValue(e2, 'multiuser_relay_latency_seconds_count');
  assert.ok(relays >= 2, `relay latency observed ${relays} times`);
  assert.equal(sampleValue(e2, 'multiuser_relay_latency_seconds_bucket', { le: '+Inf' }), relays);
  const appends = sampleValue(e2, 'multiuser_journal_appends_total');
  assert.ok(appends > sampleValue(e1, 'multiuser_journal_appends_total'));
  assert.ok(sampleValue(e2, 'multiuser_journal_fsync_seconds_count') >= 1, 'fsync under always');

  // A Commit from bob on a node alice owns is refused (not the owner).
  await alice.lock([uuidOf(2)]);
  await bob.pushCommit({ nodeId: uuidOf(2), deltaBytes: renameDelta('stolen') });
  await s.logs.waitFor((l) => l.level === 'warn' && /Commit/.test(l.message));
  const e3 = await scrape();
  assert.ok(sampleOrZero(e3, 'multiuser_rejected_messages_total', { reason: 'commit' }) >= 1);

  const savesBefore = sampleOrZero(e3, 'multiuser_saves_total', { reason: 'manual', result: 'ok' });
  const saved = await s.persistence.save('manual');
  assert.ok(saved.ok);
  const e4 = await scrape();
  assert.equal(sampleValue(e4, 'multiuser_saves_total', { reason: 'manual', result: 'ok' }), savesBefore + 1);
  assert.ok(sampleValue(e4, 'multiuser_last_successful_save_timestamp_seconds') > Date.now() / 1000 - 60);
  assert.equal(sampleValue(e4, 'multiuser_last_save_bytes'), saved.bytes);
  assert.ok(sampleValue(e4, 'multiuser_save_duration_seconds_count') >= 1);
  assert.ok(sampleValue(e4, 'multiuser_backups') >= 1);
  assert.ok(sampleValue(e4, 'multiuser_backups_bytes') >= saved.bytes);

  // Leaving: the session saves `user_disconnect:bob`, labelled without the name.
  await alice.kick('bob');
  await s.logs.waitFor((l) => l.message.includes('reason: user_disconnect:bob'), 10_000);
  const e5 = await scrape();
  assert.equal(sampleValue(e5, 'multiuser_users', { state: 'active' }), 1);
  assert.equal(sampleValue(e5, 'multiuser_saves_total', { reason: 'user_disconnect', result: 'ok' }), 1);
  assert.ok(!/bob/.test((await s.api('/metrics')).text), 'no user name in any label');
  await alice.close();
});
