/**
 * The admin console page in a real browser: Debian's Chromium (/usr/bin/chromium, installed by
 * .ci/run) driven by playwright-core, against the compiled CLI as a child process with a temp data
 * directory. Our TS client logs in, locks a node, writes chat and a task; the page shows all of it,
 * kicks the client (which receives Disconnect), saves, lists the new backup, verifies it and
 * downloads it as a .db that the store's session-file loader opens. The page may fetch nothing but
 * the console's own address. Screenshots of every page, at laptop and phone sizes, go to
 * test-output/admin-dashboard/ (gitignored).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { chromium, type Browser, type Page } from 'playwright-core';

import { MessageType } from '../../src/protocol/index.js';
import { decodeSnapshotBytes } from '../../src/store/index.js';
import { CLI_ADMIN_PASSWORD, closeAll, initAs, startCli, tempDataDir } from '../integration/cli-server.js';
import { nodeBytes, uuidOf } from '../integration/harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SHOTS = join(ROOT, 'test-output', 'admin-dashboard');
const CHROMIUM = '/usr/bin/chromium';
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PAGES = ['overview', 'users', 'chat', 'backups', 'activity'] as const;
/** Each browser step's deadline: an event normally comes in milliseconds; generous for a loaded 2-core machine. */
const STEP_MS = 20_000;

let browser: Browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start; the page is our own.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await closeAll();
});

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = srv.address();
      srv.close(() => resolvePort(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function goTo(page: Page, name: (typeof PAGES)[number]): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Pages' })
    .getByRole('link', { name: navLabel(name) })
    .click();
  await page.locator(`#page-${name}`).waitFor({ state: 'visible', timeout: STEP_MS });
}

const navLabel = (name: string): string =>
  ({ overview: 'Overview', users: 'Users', chat: 'Chat & tasks', backups: 'Backups', activity: 'Activity' })[name] ??
  name;

test('the dashboard shows a live session, kicks, saves and downloads a backup', { timeout: 60_000 }, async () => {
  const httpPort = await freePort();
  const dataDir = tempDataDir('mus-dashboard-');
  const server = await startCli(dataDir, ['--http', `127.0.0.1:${httpPort}`]);
  const origin = `http://127.0.0.1:${httpPort}`;

  const context = await browser.newContext({ viewport: LAPTOP, acceptDownloads: true });
  const foreign: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));

  // Login: a wrong password is refused on the form; the right one opens the overview.
  await page.goto(`${origin}/`);
  const password = page.getByLabel('Admin console password');
  await password.waitFor();
  await shoot(page, 'login-laptop');
  await password.fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('Wrong password.').waitFor();
  await password.fill(CLI_ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.locator('#live[data-state="live"]').waitFor();

  // Our client: alice initialises the session, bob joins, locks the Cube, writes chat and a task.
  const cube = uuidOf(1);
  const alice = await initAs(server, [{ uuid: cube, dataBytes: nodeBytes(cube, 'Cube') }]);
  const bob = server.client('bob');
  await bob.login();
  await bob.join();
  await bob.lock([cube]);
  await alice.waitForCommand(MessageType.Right, (m) => m.owner === 'bob');
  await bob.updateMetadata([
    [
      'chat_messages',
      '[{"id": "1732600000.25", "username": "bob", "message": "<b>lamp</b> fixed?", "msg_type": "text", ' +
        '"metadata": {}, "timestamp": 1732600000.25}]',
    ],
    [
      'tasks',
      '{"t-42": {"id": "t-42", "title": "Fix the lamp", "description": "too bright", "assigned_to": "alice", ' +
        '"status": "in_progress", "created_by": "bob", "created_at": 1732600001.5, "object_name": "Lamp"}}',
    ],
  ]);

  // The overview lists bob with his lock; the users page has his row with the lock and a Kick button.
  const bobCard = page.locator('#overview-users li[data-user="bob"]');
  await bobCard.getByText('Cube').waitFor();
  await goTo(page, 'users');
  const bobRow = page.locator('#users-table tr[data-user="bob"]');
  await bobRow.getByText('Cube').waitFor();
  await page.locator('#users-table tr[data-user="alice"]').waitFor();
  await shoot(page, 'users-with-lock-laptop');

  // Chat and tasks, as text: the markup in the message is shown, not interpreted.
  await goTo(page, 'chat');
  await page.locator('#chat-log').getByText('<b>lamp</b> fixed?').waitFor();
  await page.locator('#task-list').getByText('Fix the lamp').waitFor();
  assert.equal(await page.locator('#chat-log b').count(), 0, 'chat text never becomes markup');

  // Kick bob from the page: a confirmation first (Cancel keeps him), then the client gets Disconnect.
  await goTo(page, 'users');
  // By keyboard first: Enter opens the dialog with focus on Cancel, Escape closes it, focus returns.
  const activeText = (): Promise<string> =>
    page.evaluate<string>("document.activeElement.getAttribute('aria-label') || document.activeElement.textContent");
  await page.getByRole('button', { name: 'Kick bob' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.equal(await activeText(), 'Cancel');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await activeText(), 'Kick bob');
  assert.equal(bob.state, 'active', 'Cancel does not kick');
  await page.getByRole('button', { name: 'Kick bob' }).click();
  const disconnect = bob.waitForCommand(MessageType.Disconnect);
  await dialog.getByRole('button', { name: 'Kick' }).click();
  await disconnect;
  await bobRow.waitFor({ state: 'detached' });
  // Bob's leave is saved on its own (user_disconnect); then alice changes something, so that
  // "Save now" has new content to write (a save of unchanged content writes no backup).
  await server.waitFor('Session saved to disk (reason: user_disconnect:bob)');
  await alice.lock([cube]);
  await alice.waitForCommand(MessageType.Right, (m) => m.owner === 'alice');

  // Save now: the new backup is listed, verifies OK, and downloads as a session file the store opens.
  await goTo(page, 'backups');
  const rows = page.locator('#backups-table tr[data-backup]');
  const before = await rows.count();
  await page.getByRole('button', { name: 'Save now' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: /^Saved / })
    .waitFor();
  await rows.nth(before).waitFor();
  const onDisk = readdirSync(join(dataDir, 'backups'))
    .filter((n) => n.startsWith('snapshot_'))
    .sort();
  // The API names a backup without its `.pkl`.
  const newest = onDisk[onDisk.length - 1].replace(/\.pkl$/, '');
  const row = page.locator(`#backups-table tr[data-backup="${newest}"]`);
  await row.getByRole('button', { name: `Verify ${newest}` }).click();
  await row.getByText('OK', { exact: true }).waitFor();
  const download = page.waitForEvent('download');
  await row.getByRole('link', { name: `Download ${newest} as .db` }).click();
  const file = await (await download).path();
  const decoded = await decodeSnapshotBytes(readFileSync(file), undefined, newest);
  assert.deepEqual(
    decoded.image.nodes.map((n) => n.uuid),
    [cube],
  );

  // The live feed saw bob arrive and be kicked, and the save.
  await goTo(page, 'activity');
  await page.locator('#feed li[data-event="login"]').filter({ hasText: 'bob' }).first().waitFor();
  await page.locator('#feed li[data-event="save"]').first().waitFor();

  for (const name of PAGES) {
    await goTo(page, name);
    await shoot(page, `${name}-laptop`);
  }
  await page.setViewportSize(PHONE);
  for (const name of PAGES) {
    await goTo(page, name);
    await shoot(page, `${name}-phone`);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `${name}: ${overflow} px wider than a phone screen`);
  }

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Admin console password').waitFor();
  await context.close();
  assert.deepEqual(foreign, [], 'the page fetches nothing but its own server');
  assert.deepEqual(pageErrors, []);
  await alice.close();
});
