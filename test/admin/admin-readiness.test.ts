/**
 * `/readyz` follows real state: 503 with `journal_failing` while journal fsyncs fail (and 200
 * again once they work), 503 with `disk_low` when the data directory's free space falls below
 * DISK_FREE_WARN (simulated through the store's file-system port, as the store tests do), and
 * `last_save_failed` when the newest save failed. The metrics and the session overview agree.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import { closeAll } from '../integration/cli-server.js';
import { nodeBytes, uuidOf } from '../integration/harness.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { startConsoleServer, type ConsoleServer } from './console-harness.js';

const servers: ConsoleServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  await closeAll();
});

async function readiness(s: ConsoleServer): Promise<{ status: number; codes: string[] }> {
  const r = await s.api('/readyz');
  const body = r.json() as { ready: boolean; reasons: { code: string; message: string }[] };
  assert.equal(body.ready, r.status === 200);
  for (const reason of body.reasons) assert.ok(reason.message.length > 0);
  return { status: r.status, codes: body.reasons.map((x) => x.code) };
}

test('/readyz is 503 journal_failing while the journal cannot be written, and 200 once it can', async () => {
  const s = await startConsoleServer({ journalFsync: 'always' });
  servers.push(s);
  const alice = s.client('alice', true);
  assert.equal(await alice.login(), 'LOBBY');
  assert.equal(await alice.init([{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]), 'ACCEPTED');
  assert.deepEqual(await readiness(s), { status: 200, codes: [] });

  s.failFsyncs(true);
  await alice.pushNode({ uuid: uuidOf(2), dataBytes: nodeBytes(uuidOf(2)) });
  await s.logs.waitFor((l) => l.message.startsWith('JOURNAL FAILED under JOURNAL_FSYNC=always'));
  const failing = await readiness(s);
  assert.equal(failing.status, 503);
  assert.ok(failing.codes.includes('journal_failing'), JSON.stringify(failing));
  const exp = parsePrometheusText((await s.api('/metrics')).text);
  assert.equal(sampleValue(exp, 'multiuser_ready'), 0);
  assert.equal(sampleValue(exp, 'multiuser_journal_writable'), 0);
  assert.ok(sampleValue(exp, 'multiuser_journal_failures_total') >= 1);
  const { cookie } = await s.login();
  const session = (await s.api('/api/session', { cookie })).json() as { warnings: { message: string }[] };
  assert.ok(session.warnings.some((w) => /Journal failing/.test(w.message)));

  s.failFsyncs(false);
  await s.logs.waitFor((l) => l.message.startsWith('Accepting changes again'), 10_000);
  assert.deepEqual(await readiness(s), { status: 200, codes: [] });
});

test('/readyz is 503 disk_low below DISK_FREE_WARN, and last_save_failed when a save could not be written', async () => {
  const s = await startConsoleServer({ diskFreeWarnBytes: 64 * 1024 * 1024 });
  servers.push(s);
  const alice = s.client('alice', true);
  assert.equal(await alice.login(), 'LOBBY');
  assert.equal(await alice.init([{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]), 'ACCEPTED');
  assert.deepEqual(await readiness(s), { status: 200, codes: [] });

  s.setFreeBytes(1024);
  const { cookie, csrf } = await s.login();
  // A save checks free space first (and fails here); the disk monitor checks again after it.
  const saved = await s.api('/api/save', { method: 'POST', cookie, csrf });
  assert.equal(saved.status, 503, saved.text);
  assert.equal((saved.json() as { error: { code: string } }).error.code, 'unavailable');
  await s.logs.waitFor((l) => l.message.startsWith('LOW DISK SPACE'));
  const low = await readiness(s);
  assert.equal(low.status, 503);
  assert.ok(low.codes.includes('disk_low'), JSON.stringify(low));
  assert.ok(low.codes.includes('last_save_failed'), JSON.stringify(low));
  const session = (await s.api('/api/session', { cookie })).json() as { lastSave: { ok: boolean; reason: string } };
  assert.equal(session.lastSave.ok, false);
  assert.equal(session.lastSave.reason, 'admin');

  s.setFreeBytes(null);
  const again = await s.api('/api/save', { method: 'POST', cookie, csrf });
  assert.equal(again.status, 200, again.text);
  await s.logs.waitFor((l) => l.message.startsWith('Disk space in DATA_DIR back above'));
  assert.deepEqual(await readiness(s), { status: 200, codes: [] });
});
