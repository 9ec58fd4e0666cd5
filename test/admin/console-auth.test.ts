import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConsoleAuth, safeEqual } from '../../src/admin/console-auth.js';
import { LoginLimiter } from '../../src/admin/login-limiter.js';

test('a console session lives until it is idle too long or logged out, with its own CSRF token', () => {
  const auth = new ConsoleAuth({ password: 'pw', idleMs: 1000 });
  assert.equal(auth.login('PW', 0), null);
  assert.equal(auth.login('pw ', 0), null);
  const a = auth.login('pw', 0);
  const b = auth.login('pw', 0);
  assert.ok(a !== null && b !== null);
  assert.notEqual(a.token, b.token);
  assert.notEqual(a.csrf, b.csrf);
  assert.equal(auth.check(a.token, 900), a.csrf);
  assert.equal(auth.check(a.token, 1800), a.csrf, 'use restarts the idle timer');
  assert.equal(auth.check(a.token, 2800), null, 'idle for 1000 ms');
  assert.equal(auth.check(a.token, 2801), null, 'and gone');
  auth.logout(b.token);
  assert.equal(auth.check(b.token, 0), null);
  assert.ok(auth.checkCsrf('abc', 'abc'));
  assert.ok(!auth.checkCsrf('abc', 'abd'));
  assert.ok(!auth.checkCsrf('abc', undefined));
  assert.ok(safeEqual('', '') && !safeEqual('a', 'aa'));
});

test('an empty console password disables logins, even with an empty attempt', () => {
  const auth = new ConsoleAuth({ password: '' });
  assert.equal(auth.enabled, false);
  assert.equal(auth.login('', 0), null);
});

test('the login limiter allows N attempts per address and window, then says how long to wait', () => {
  const l = new LoginLimiter({ attempts: 2, windowMs: 60_000, maxAddresses: 2 });
  assert.equal(l.take('a', 0), 0);
  assert.equal(l.take('a', 1000), 0);
  assert.equal(l.take('a', 2000), 58);
  assert.equal(l.take('b', 2000), 0, 'another address has its own window');
  assert.equal(l.take('a', 60_000), 0, 'a new window');
  assert.equal(l.take('c', 60_000), 0, 'a full table makes room');
});
