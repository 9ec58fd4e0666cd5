import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { parseTarget } from '../../src/cli/probe.js';
import { runShellLine, SHELL_HELP, type ShellHooks, type ShellUser } from '../../src/cli/shell.js';

function hooks(users: ShellUser[]): ShellHooks & { kicked: string[]; exits: number; saves: number } {
  const h = {
    kicked: [] as string[],
    exits: 0,
    saves: 0,
    listUsers: () => users,
    kick: (name: string) => h.kicked.push(name),
    save: () => h.saves++,
    exit: () => h.exits++,
  };
  return h;
}

const ALICE: ShellUser = { name: 'alice', admin: true, latencyMs: 3, status: 'active', clientId: 'ab'.repeat(16) };

describe('the interactive shell', () => {
  test('users prints one line per user with role, status and latency', () => {
    const out = runShellLine('users', hooks([ALICE]));
    assert.match(out, /^user\s+role\s+status\s+latency\s+client id\n/);
    assert.match(out, /alice\s+admin\s+active\s+3 ms\s+abab/);
    assert.equal(runShellLine('users', hooks([])), 'no users connected\n');
  });

  test('kick NAME kicks a connected user and refuses an unknown one', () => {
    const h = hooks([ALICE]);
    assert.equal(runShellLine('kick alice', h), 'kicking alice\n');
    assert.equal(runShellLine('kick bob', h), "no user named 'bob'\n");
    assert.equal(runShellLine('kick', h), 'usage: kick NAME\n');
    assert.deepEqual(h.kicked, ['alice']);
  });

  test('save requests a snapshot and says where the result shows up', () => {
    const h = hooks([]);
    assert.equal(runShellLine('save', h), 'saving the session (see the log)\n');
    assert.equal(h.saves, 1);
    assert.match(SHELL_HELP, /^ {2}save {9}save the session to disk now/m);
  });

  test('exit stops the server, help lists the commands, anything else is explained', () => {
    const h = hooks([]);
    assert.equal(runShellLine('exit', h), '');
    assert.equal(h.exits, 1);
    assert.equal(runShellLine('help', h), SHELL_HELP);
    assert.match(runShellLine('frobnicate', h), /unknown command 'frobnicate'/);
    assert.equal(runShellLine('   ', h), '');
  });
});

describe('probe targets', () => {
  test('HOST:PORT, [IPv6]:PORT and a bare host (port 5555) are read; bad ones are not', () => {
    assert.deepEqual(parseTarget('example.org:6000'), { host: 'example.org', port: 6000 });
    assert.deepEqual(parseTarget('[::1]:5560'), { host: '::1', port: 5560 });
    assert.deepEqual(parseTarget('10.0.0.5'), { host: '10.0.0.5', port: 5555 });
    assert.equal(parseTarget('host:99999'), undefined);
    assert.equal(parseTarget('a:b:c'), undefined);
  });
});
