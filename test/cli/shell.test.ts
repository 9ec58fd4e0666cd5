import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { parseTarget } from '../../src/cli/target.js';
import { PyDict, type PyValue } from '../../src/pickle/index.js';
import { strDict } from '../../src/protocol/index.js';
import { runShellLine, SHELL_HELP, type ShellHooks, type ShellUser } from '../../src/cli/shell.js';

function hooks(
  users: ShellUser[],
  chat: PyValue[] = [],
  tasks: PyDict = new PyDict(),
): ShellHooks & { kicked: string[]; exits: number; saves: number } {
  const h = {
    archive: () => ({ chat, tasks }),
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

  test('chat shows the last N archived messages and tasks shows the board', () => {
    const msg = (i: number): PyValue =>
      strDict([
        ['id', String(i)],
        ['username', i % 2 ? 'alice' : 'bob'],
        ['message', `hello ${i}`],
        ['timestamp', 1_700_000_000 + i],
      ]);
    const chat = Array.from({ length: 30 }, (_, i) => msg(i));
    const tasks = new PyDict();
    tasks.setStr(
      't1',
      strDict([
        ['title', 'Rig the arm'],
        ['status', 'in_progress'],
        ['assigned_to', 'bob'],
        ['created_by', 'alice'],
      ]),
    );
    const h = hooks([], chat, tasks);
    const last20 = runShellLine('chat', h).trimEnd().split('\n');
    assert.equal(last20.length, 21);
    assert.match(last20[0], /10 earlier/);
    assert.match(last20[1], /bob: hello 10$/);
    assert.match(last20[20], /alice: hello 29$/);
    assert.match(runShellLine('chat 2', h), /hello 28\n.*hello 29\n$/);
    assert.equal(runShellLine('chat zero', h), 'usage: chat [N]\n');
    assert.match(runShellLine('tasks', h), /in_progress\s+bob\s+Rig the arm\s+alice/);
    assert.equal(runShellLine('chat', hooks([])), 'no chat messages\n');
    assert.equal(runShellLine('tasks', hooks([])), 'no tasks\n');
  });

  test('restore --at / --before asks for a live restore and prints its result when it ends', async () => {
    const asked: { at?: string; before?: string }[] = [];
    const printed: string[] = [];
    let finish: (r: { ok: boolean; message: string }) => void = () => undefined;
    const h: ShellHooks = {
      ...hooks([]),
      restore: (request) => {
        asked.push(request);
        return new Promise((resolve) => (finish = resolve));
      },
      print: (text) => printed.push(text),
    };
    assert.match(runShellLine('restore --at 2025-01-12 14:30', h), /^restoring/);
    assert.deepEqual(asked, [{ at: '2025-01-12 14:30' }]);
    finish({ ok: true, message: 'The session was restored to 2025-01-12T14:30:00.000' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(printed, ['The session was restored to 2025-01-12T14:30:00.000\n']);
    runShellLine('restore --before seg:3', h);
    assert.deepEqual(asked[1], { before: 'seg:3' });
    finish({ ok: false, message: 'history breaks at …' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(printed[1], 'restore refused: history breaks at …\n');
    assert.equal(runShellLine('restore', h), 'usage: restore --at TIME | --before CHANGE\n');
    assert.equal(runShellLine('restore --at', h), 'usage: restore --at TIME | --before CHANGE\n');
    assert.equal(runShellLine('restore --at -5m', hooks([])), 'live restore is not available\n');
    assert.equal(asked.length, 2);
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
