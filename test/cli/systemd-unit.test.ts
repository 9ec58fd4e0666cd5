/**
 * deploy/systemd/multiuser-server.service passes `systemd-analyze verify` (Debian's systemd; .ci/run
 * installs it) and keeps the settings the deployment guide promises. verify also checks that
 * ExecStart exists, so the copy it checks points ExecStart at the built CLI instead of
 * /usr/local/bin/multiuser-server, which exists only once the package is installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const UNIT = join(ROOT, 'deploy', 'systemd', 'multiuser-server.service');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'mus-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const text = readFileSync(UNIT, 'utf8');
const settings = (key: string): string[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

function verify(unitText: string): { status: number | null; output: string } {
  const path = join(dir, 'multiuser-server.service');
  writeFileSync(path, unitText);
  const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
  if (r.error !== undefined)
    throw new Error(`systemd-analyze not runnable (apt-get install systemd): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('the systemd unit', () => {
  test('passes systemd-analyze verify', () => {
    const r = verify(text.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath} ${MAIN}`));
    assert.equal(r.status, 0, r.output);
    assert.equal(r.output.trim(), '', 'no warnings either');
  });

  test('verify does fail on a broken unit (the check can fail)', () => {
    const r = verify(
      text.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath} ${MAIN}`).replace('Type=exec', 'Type=bogus'),
    );
    assert.notEqual(r.output.trim(), '', 'a bad Type= is reported');
  });

  test('runs hardened, keeps its state, restarts on failure and leaves time for the final save', () => {
    assert.deepEqual(settings('ExecStart'), ['/usr/local/bin/multiuser-server serve']);
    assert.deepEqual(settings('DynamicUser'), ['yes']);
    assert.deepEqual(settings('StateDirectory'), ['multiuser-server']);
    assert.deepEqual(settings('Environment'), ['DATA_DIR=/var/lib/multiuser-server']);
    assert.deepEqual(settings('ProtectSystem'), ['strict']);
    assert.deepEqual(settings('NoNewPrivileges'), ['yes']);
    assert.deepEqual(settings('CapabilityBoundingSet'), ['']);
    assert.deepEqual(settings('Restart'), ['on-failure']);
    assert.deepEqual(settings('KillSignal'), ['SIGTERM']);
    assert.ok(Number(settings('TimeoutStopSec')[0]) >= 60, 'a large session saves within the stop timeout');
    assert.deepEqual(settings('MemoryDenyWriteExecute'), [], 'V8 needs W+X pages');
    assert.match(settings('ExecReload')[0] ?? '', /kill -HUP \$MAINPID/, 'reload reopens the log file');
  });
});
