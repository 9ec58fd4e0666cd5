// Runs every compiled test file under dist/test with node's own test runner.
// Node 20's `--test` does not expand globs, so the file list is collected here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = collect('dist/test');
if (filter.length > 0) files = files.filter((f) => filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
// What the tests need besides Node, checked before anything runs so a fresh machine gets one clear
// message instead of a few failures deep in the output. Each requirement is checked only when a
// selected test file needs it.
const REQUIREMENTS = [
  {
    what: 'python3 (CPython 3, the reference for pickle and deltas)',
    debian: 'python3',
    needed: () => true,
    ok: () => spawnSync('python3', ['-c', 'import sys; assert sys.version_info >= (3, 8)']).status === 0,
  },
  {
    what: "Debian's python3-zmq for /usr/bin/python3 (the independent libzmq peer of the interop tests)",
    debian: 'python3-zmq',
    needed: (f) => /(python-interop|zmtp-interop)\.test\.js$/.test(f),
    ok: () => spawnSync('/usr/bin/python3', ['-c', 'import zmq']).status === 0,
  },
  {
    what: 'systemd-analyze (checks deploy/systemd/multiuser-server.service)',
    debian: 'systemd',
    needed: (f) => f.endsWith('systemd-unit.test.js'),
    ok: () => spawnSync('systemd-analyze', ['--version']).status === 0,
  },
  {
    what: "Debian's chromium at /usr/bin/chromium (the admin console's browser test, driven by playwright-core)",
    debian: 'chromium',
    needed: (f) => f.endsWith('dashboard-browser.test.js'),
    ok: () => existsSync('/usr/bin/chromium'),
  },
  {
    what:
      'permission to mount a tmpfs (the full-disk tests fill a small real file system): root with CAP_SYS_ADMIN; ' +
      'in a Docker container, run it with --cap-add SYS_ADMIN (or --privileged)',
    debian: null,
    needed: (f) => f.endsWith('cli-full-disk.test.js'),
    ok: canMountTmpfs,
  },
];
let missing = REQUIREMENTS.filter((r) => files.some(r.needed) && !r.ok());
// As root on Debian or Ubuntu (a fresh container, CI) the packages are installed here, so the
// README's test command works there as written; anywhere else nothing is installed behind the
// user's back. MUS_TEST_NO_INSTALL=1 turns this off.
const canInstall =
  missing.some((r) => r.debian !== null) &&
  process.getuid?.() === 0 &&
  process.env.MUS_TEST_NO_INSTALL !== '1' &&
  spawnSync('apt-get', ['--version']).status === 0;
if (canInstall) {
  const packages = [...new Set(missing.map((r) => r.debian).filter((p) => p !== null))];
  console.error(`Installing what the tests need: apt-get install -y ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
  missing = missing.filter((r) => !r.ok());
}
if (missing.length > 0) {
  console.error('The tests need, and this machine lacks:');
  for (const r of missing) console.error(`  - ${r.what}`);
  const packages = missing.map((r) => r.debian).filter((p) => p !== null);
  if (packages.length > 0) {
    console.error(`On Debian or Ubuntu (as root): apt-get update && apt-get install -y ${packages.join(' ')}`);
  }
  if (packages.length > 0) console.error('Elsewhere install the equivalent packages (README.md "Run the tests").');
  console.error('Then run the tests again.');
  process.exit(1);
}

/** Whether this process may mount a tmpfs, tried on a tiny one in a temporary directory. */
function canMountTmpfs() {
  const dir = mkdtempSync(join(tmpdir(), 'mus-mount-check-'));
  try {
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=65536', 'tmpfs', dir]).status !== 0) return false;
    spawnSync('umount', [dir]);
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(res.status ?? 1);
