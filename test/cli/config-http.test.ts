/**
 * The admin console's configuration: HTTP_ADDR forms and defaults, the console password falling
 * back to ADMIN_PASSWORD, and the refusal to publish the console beyond loopback with the default
 * password (a configuration error: the CLI exits 2 before touching the data directory).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { ConfigError, consolePassword, isLoopbackHost, resolveConfig } from '../../src/cli/config.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('no ConfigError');
}

describe('admin console configuration', () => {
  test('HTTP_ADDR defaults to 127.0.0.1 with the port after the session ports; off disables it', () => {
    assert.deepEqual(resolveConfig({}).config.httpAddr, { host: '127.0.0.1', port: null });
    assert.equal(resolveConfig({ env: { HTTP_ADDR: 'off' } }).config.httpAddr, null);
    assert.equal(resolveConfig({ argv: ['--http', 'OFF'] }).config.httpAddr, null);
    assert.deepEqual(resolveConfig({ env: { HTTP_ADDR: '9000' } }).config.httpAddr, { host: '127.0.0.1', port: 9000 });
    assert.deepEqual(resolveConfig({ env: { HTTP_ADDR: '[::1]:9000' } }).config.httpAddr, { host: '::1', port: 9000 });
    for (const bad of ['a:b', '127.0.0.1:', '127.0.0.1:70000', 'http://x:1', '0']) {
      const err = configError(() => resolveConfig({ env: { HTTP_ADDR: bad } }));
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /HTTP_ADDR/);
    }
  });

  test('the console password is HTTP_ADMIN_PASSWORD, else ADMIN_PASSWORD', () => {
    assert.equal(consolePassword(resolveConfig({ env: { ADMIN_PASSWORD: 'a' } }).config), 'a');
    assert.equal(
      consolePassword(resolveConfig({ env: { ADMIN_PASSWORD: 'a', HTTP_ADMIN_PASSWORD: 'b' } }).config),
      'b',
    );
    assert.equal(consolePassword(resolveConfig({ env: { HTTP_ADMIN_PASSWORD: '' } }).config), 'admin');
  });

  test('a console on a non-loopback address with the default password is refused', () => {
    for (const addr of ['0.0.0.0:5558', '192.168.1.10:80', '[::]:5558', 'example.org:5558']) {
      const err = configError(() => resolveConfig({ env: { HTTP_ADDR: addr } }));
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /default password/);
      assert.match(err.message, /HTTP_ADMIN_PASSWORD/);
      // The same address is fine with a password of either kind.
      assert.doesNotThrow(() => resolveConfig({ env: { HTTP_ADDR: addr, ADMIN_PASSWORD: 'x' } }));
      assert.doesNotThrow(() => resolveConfig({ env: { HTTP_ADDR: addr, HTTP_ADMIN_PASSWORD: 'x' } }));
    }
    // A non-default ADMIN_PASSWORD overridden by the default console password is still the default.
    assert.throws(
      () => resolveConfig({ env: { HTTP_ADDR: '0.0.0.0:1', ADMIN_PASSWORD: 'x', HTTP_ADMIN_PASSWORD: 'admin' } }),
      ConfigError,
    );
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'localhost.example.org']) assert.ok(!isLoopbackHost(host), host);
  });

  test('the CLI exits 2 with a clear message and leaves the data directory alone', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mus-http-config-'));
    try {
      const child = spawn(process.execPath, [MAIN, '--http', '0.0.0.0:5558', '--data-dir', join(cwd, 'data')], {
        cwd,
        env: { PATH: process.env.PATH ?? '' },
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      assert.equal(code, 2);
      assert.match(err, /admin console would listen on 0\.0\.0\.0 .* default password/);
      assert.deepEqual(readdirSync(cwd), [], 'no data directory created');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
