/**
 * The admin console's HTTP API over real HTTP against a real in-process server (docs/admin.md):
 * what needs no login, what needs the cookie, what needs the CSRF header too, the error shape on
 * every refusal, the login rate limit, and the actions (save, kick, verify, download, export)
 * with our replication client on the session sockets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { MessageType } from '../../src/protocol/index.js';
import { decodeSnapshotBytes } from '../../src/store/index.js';
import { closeAll } from '../integration/cli-server.js';
import { nodeBytes, uuidOf } from '../integration/harness.js';
import { INDEX_HTML, readEventsUntil, startConsoleServer, type ConsoleServer, type Reply } from './console-harness.js';

function assertError(r: Reply, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  const body = r.json() as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
}

const AUTH_GETS = [
  '/api/session',
  '/api/users',
  '/api/nodes',
  '/api/chat',
  '/api/tasks',
  '/api/backups',
  '/api/csrf',
  '/api/stats/history',
  '/api/events',
  '/api/export',
  '/api/backups/snapshot_20260101_000000/download',
];
const AUTH_POSTS = [
  '/api/save',
  '/api/logout',
  '/api/users/alice/kick',
  '/api/backups/snapshot_20260101_000000/verify',
];

describe('the admin API', () => {
  let s: ConsoleServer;
  before(async () => {
    s = await startConsoleServer({ journalFsync: 'always' });
  });
  after(async () => {
    await s.close();
    await closeAll();
  });

  test('health, readiness, metrics and the page answer without a login', async () => {
    const health = await s.api('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.json(), { status: 'ok' });
    const ready = await s.api('/readyz');
    assert.equal(ready.status, 200, ready.text);
    assert.deepEqual(ready.json(), { ready: true, reasons: [] });
    const metrics = await s.api('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    for (const path of ['/', '/index.html']) {
      const page = await s.api(path);
      assert.equal(page.status, 200);
      assert.equal(page.text, INDEX_HTML);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
    }
  });

  test('every API route refuses a request without a session cookie (401 unauthorized)', async () => {
    for (const path of AUTH_GETS) assertError(await s.api(path), 401, 'unauthorized');
    for (const path of AUTH_POSTS) assertError(await s.api(path, { method: 'POST' }), 401, 'unauthorized');
    assertError(await s.api('/api/session', { cookie: 'mus_session=forged' }), 401, 'unauthorized');
  });

  test('a login sets an HttpOnly SameSite=Strict cookie and returns the CSRF token; a wrong password is 401 bad_password', async () => {
    const r = await s.api('/api/login', { method: 'POST', body: { password: 'console-secret' } });
    assert.equal(r.status, 200);
    const cookie = r.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^mus_session=[A-Za-z0-9_-]{43};/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(cookie, /Path=\//);
    assert.doesNotMatch(cookie, /Secure/, 'plain HTTP without HTTP_SECURE_COOKIE');
    const { csrfToken } = r.json() as { csrfToken: string };
    assert.match(csrfToken, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!cookie.includes(csrfToken), 'the CSRF token is not the cookie');

    assertError(await s.api('/api/login', { method: 'POST', body: { password: 'wrong' } }), 401, 'bad_password');
    assertError(await s.api('/api/login', { method: 'POST', body: 'not json' }), 400, 'bad_request');
    assertError(await s.api('/api/login', { method: 'POST', body: { pass: 'x' } }), 400, 'bad_request');
    assertError(
      await s.api('/api/login', {
        method: 'POST',
        body: 'password=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      400,
      'bad_request',
    );
    assertError(
      await s.api('/api/login', { method: 'POST', body: { password: 'x'.repeat(5000) } }),
      413,
      'payload_too_large',
    );
    assert.ok(!s.logs.has('console-secret') && !s.logs.has(csrfToken), 'no secret in the log');
  });

  test('POSTs need the X-CSRF-Token of the session (403 csrf), and a foreign Origin is refused too', async () => {
    const { cookie, csrf } = await s.login();
    assertError(await s.api('/api/save', { method: 'POST', cookie }), 403, 'csrf');
    assertError(await s.api('/api/save', { method: 'POST', cookie, csrf: csrf.slice(1) + 'A' }), 403, 'csrf');
    const other = await s.login();
    assertError(await s.api('/api/save', { method: 'POST', cookie, csrf: other.csrf }), 403, 'csrf');
    assertError(
      await s.api('/api/save', { method: 'POST', cookie, csrf, headers: { origin: 'http://evil.example' } }),
      403,
      'csrf',
    );
    const csrfAgain = await s.api('/api/csrf', { cookie });
    assert.deepEqual(csrfAgain.json(), { csrfToken: csrf });
  });

  test('errors keep one shape: unknown routes 404, wrong methods 405, unknown backups 404', async () => {
    const { cookie, csrf } = await s.login();
    assertError(await s.api('/api/nothing', { cookie }), 404, 'not_found');
    assertError(await s.api('/no-such-page'), 404, 'not_found');
    assertError(await s.api('/api/session', { method: 'POST', cookie, csrf }), 405, 'method_not_allowed');
    assertError(await s.api('/api/save', { cookie }), 405, 'method_not_allowed');
    assertError(await s.api('/healthz', { method: 'POST' }), 405, 'method_not_allowed');
    assertError(await s.api('/api/backups/snapshot_20200101_000000/download', { cookie }), 404, 'not_found');
    assertError(await s.api('/api/backups/..%2Fsession_snapshot/download', { cookie }), 404, 'not_found');
    assertError(await s.api('/api/users/nobody/kick', { method: 'POST', cookie, csrf }), 404, 'not_found');
  });

  test('session, users, nodes, chat and tasks describe the running session', async () => {
    const { cookie } = await s.login();
    const alice = s.client('alice', true);
    assert.equal(await alice.login(), 'LOBBY');
    assert.equal(await alice.init([{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1), 'Cube') }]), 'ACCEPTED');
    await alice.pushNode({ uuid: uuidOf(2), dataBytes: nodeBytes(uuidOf(2), 'Lamp') });
    await alice.lock([uuidOf(2)]);
    const chat =
      '[{"id": "1732600000.25", "username": "alice", "message": "hello console", "msg_type": "text", ' +
      '"metadata": {}, "timestamp": 1732600000.25}]';
    const tasks =
      '{"t-1": {"id": "t-1", "title": "Fix the lamp", "description": "", "assigned_to": "alice", ' +
      '"status": "todo", "created_by": "alice", "created_at": 1732600001.5, "object_name": ""}}';
    await alice.updateMetadata([
      ['chat_messages', chat],
      ['tasks', tasks],
    ]);
    await alice.waitForUsers((list) => list.some((u) => u.name === '~archive'));

    const session = (await s.api('/api/session', { cookie })).json() as Record<string, unknown>;
    assert.equal(session.state, 'ACTIVE');
    assert.equal(session.usersOnline, 1);
    assert.equal(session.nodes, 2);
    assert.ok((session.sessionBytes as number) > 0);
    assert.deepEqual(session.ports, { command: s.server.port, data: s.server.port + 1, heartbeat: s.server.port + 2 });
    assert.equal(session.version, 'test');
    assert.equal(typeof session.uptimeSeconds, 'number');
    assert.ok(Array.isArray(session.warnings));

    const { users } = (await s.api('/api/users', { cookie })).json() as { users: Record<string, unknown>[] };
    assert.equal(users.length, 1);
    assert.equal(users[0].name, 'alice');
    assert.equal(users[0].admin, true);
    assert.match(users[0].address as string, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(users[0].lockedNodes, [{ uuid: uuidOf(2), name: 'Lamp', type: 'Object' }]);

    const nodes = (await s.api('/api/nodes', { cookie })).json() as Record<string, unknown>;
    assert.equal(nodes.count, 2);
    assert.deepEqual(
      (nodes.byType as { type: string; count: number }[]).map((t) => [t.type, t.count]),
      [['Object', 2]],
    );
    assert.deepEqual(nodes.byOwner, [
      { owner: 'COMMON', count: 1 },
      { owner: 'alice', count: 1 },
    ]);

    const messages = ((await s.api('/api/chat', { cookie })).json() as { messages: unknown[] }).messages;
    assert.deepEqual(messages, [{ user: 'alice', text: 'hello console', time: new Date(1732600000250).toISOString() }]);
    const board = ((await s.api('/api/tasks', { cookie })).json() as { tasks: { id: string; title: string }[] }).tasks;
    assert.deepEqual(
      board.map((t) => [t.id, t.title]),
      [['t-1', 'Fix the lamp']],
    );
    await alice.close();
  });

  test('save now writes a backup that lists, verifies and downloads as a session file; export does too', async () => {
    const { cookie, csrf } = await s.login();
    const alice = s.client('saver', true);
    const state = await alice.login();
    if (state === 'LOBBY') await alice.init([{ uuid: uuidOf(7), dataBytes: nodeBytes(uuidOf(7)) }]);
    else await alice.join();
    const saved = await s.api('/api/save', { method: 'POST', cookie, csrf });
    assert.equal(saved.status, 200, saved.text);
    const body = saved.json() as { file: string; bytes: number; reason: string };
    assert.equal(body.reason, 'admin');
    assert.match(body.file, /^backups\/snapshot_\d{8}_\d{6}(_\d+)?\.pkl$/);
    assert.ok(body.bytes > 0);

    const { backups } = (await s.api('/api/backups', { cookie })).json() as {
      backups: { name: string; savedAt: string; bytes: number; verified: string; detail: string | null }[];
    };
    const name = body.file.slice('backups/'.length, -'.pkl'.length);
    const listed = backups.find((b) => b.name === name);
    assert.ok(listed !== undefined, JSON.stringify(backups));
    assert.equal(listed.verified, 'unknown');
    assert.ok(!Number.isNaN(Date.parse(listed.savedAt)));

    const verified = await s.api(`/api/backups/${name}/verify`, { method: 'POST', cookie, csrf });
    assert.equal(verified.status, 200, verified.text);
    assert.equal((verified.json() as { verified: string }).verified, 'ok');
    const relisted = (await s.api('/api/backups', { cookie })).json() as {
      backups: { name: string; verified: string }[];
    };
    assert.equal(relisted.backups.find((b) => b.name === name)?.verified, 'ok');

    const download = await s.api(`/api/backups/${name}/download`, { cookie });
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-type'), 'application/octet-stream');
    assert.equal(download.headers.get('content-disposition'), `attachment; filename="${name}.db"`);
    assert.equal(download.body.length, listed.bytes);
    const decoded = await decodeSnapshotBytes(download.body, undefined, `${name}.db`);
    assert.ok(decoded.image.nodes.some((n) => n.uuid === uuidOf(1) || n.uuid === uuidOf(7)));

    const exported = await s.api('/api/export', { cookie });
    assert.equal(exported.status, 200);
    assert.match(exported.headers.get('content-disposition') ?? '', /^attachment; filename="session_\d{8}_\d{6}\.db"$/);
    const image = (await decodeSnapshotBytes(exported.body, undefined, 'export.db')).image;
    assert.equal(image.nodes.length, s.persistence.session.nodeCount);
    await alice.close();
  });

  test('kick disconnects the user (the client receives Disconnect) and the event stream tells login and kick', async () => {
    const { cookie, csrf } = await s.login();
    const res = await fetch(`${s.url}/api/events`, { headers: { cookie } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const bob = s.client('bob');
    await bob.login();
    await readEventsUntil(res, (e, d) => e === 'login' && (d as { name: string }).name === 'bob');
    const kicked = await s.api('/api/users/bob/kick', { method: 'POST', cookie, csrf });
    assert.equal(kicked.status, 204, kicked.text);
    const disconnect = await bob.waitForCommand(MessageType.Disconnect);
    assert.equal(disconnect.type, MessageType.Disconnect);
    await readEventsUntil(res, (e, d) => e === 'kick' && (d as { name: string }).name === 'bob');
    await readEventsUntil(res, (e, d) => e === 'leave' && (d as { name: string }).name === 'bob');
    await res.body?.cancel();
  });

  test('the stats history fills with samples of the documented shape', async () => {
    const { cookie } = await s.login();
    const res = await fetch(`${s.url}/api/events`, { headers: { cookie } });
    const got = await readEventsUntil(res, (e) => e === 'stats');
    await res.body?.cancel();
    const stats = got[got.length - 1].data as Record<string, unknown>;
    assert.deepEqual(Object.keys(stats).sort(), ['at', 'msgsInPerSec', 'msgsOutPerSec', 'usersOnline']);
    const { samples } = (await s.api('/api/stats/history', { cookie })).json() as {
      samples: Record<string, unknown>[];
    };
    assert.ok(samples.length >= 1);
    assert.deepEqual(Object.keys(samples[0]).sort(), ['at', 'msgsInPerSec', 'msgsOutPerSec', 'usersOnline']);
  });

  test('logout ends the session: the cookie no longer works', async () => {
    const { cookie, csrf } = await s.login();
    const out = await s.api('/api/logout', { method: 'POST', cookie, csrf });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /^mus_session=;.*Max-Age=0/);
    assertError(await s.api('/api/session', { cookie }), 401, 'unauthorized');
  });
});

describe('the admin API under limits', () => {
  test('logins from one address are rate limited (429 rate_limited with Retry-After), right password or not', async () => {
    const s = await startConsoleServer({ loginAttempts: 3 });
    try {
      for (let i = 0; i < 3; i++) {
        assertError(
          await s.api('/api/login', { method: 'POST', body: { password: `guess-${i}` } }),
          401,
          'bad_password',
        );
      }
      const limited = await s.api('/api/login', { method: 'POST', body: { password: 'console-secret' } });
      assertError(limited, 429, 'rate_limited');
      const retry = Number(limited.headers.get('retry-after'));
      assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    } finally {
      await s.close();
      await closeAll();
    }
  });

  test('with METRICS_TOKEN, /metrics needs the bearer token', async () => {
    const s = await startConsoleServer({ metricsToken: 'scrape-me' });
    try {
      assertError(await s.api('/metrics'), 401, 'unauthorized');
      assertError(await s.api('/metrics', { headers: { authorization: 'Bearer nope' } }), 401, 'unauthorized');
      const ok = await s.api('/metrics', { headers: { authorization: 'Bearer scrape-me' } });
      assert.equal(ok.status, 200);
      assert.match(ok.text, /^# HELP /m);
    } finally {
      await s.close();
      await closeAll();
    }
  });
});
