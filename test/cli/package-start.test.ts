/**
 * How the program starts outside a developer's checkout: `npm start`'s prestart compiles only when
 * dist/ is older than src/, and says what to do when TypeScript is absent (`npm ci --omit=dev`)
 * instead of `tsc: not found`; `npm pack` + `npm install -g` gives a working command.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  readFileSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

import { requestServerInfo } from '../../src/client/index.js';
import { pickBasePort } from '../helpers/ports.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ENSURE = join(ROOT, 'scripts', 'ensure-built.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mus-pkg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A tiny package: src/cli/main.ts and its compiled dist/src/cli/main.js. */
function tinyPackage(name: string, withTypescript: boolean): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'src', 'cli'), { recursive: true });
  mkdirSync(join(root, 'dist', 'src', 'cli'), { recursive: true });
  writeFileSync(join(root, 'src', 'cli', 'main.ts'), 'export const x: number = 1;\n');
  writeFileSync(join(root, 'dist', 'src', 'cli', 'main.js'), 'export const x = 1;\n');
  writeFileSync(
    join(root, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'NodeNext', rootDir: '.', outDir: 'dist', types: [] },
      include: ['src/**/*.ts'],
    }),
  );
  if (withTypescript) {
    mkdirSync(join(root, 'node_modules'));
    symlinkSync(join(ROOT, 'node_modules', 'typescript'), join(root, 'node_modules', 'typescript'));
  }
  return root;
}

const ensure = (root: string) => spawnSync(process.execPath, [ENSURE, root], { encoding: 'utf8' });
const makeStale = (root: string): void => {
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(root, 'src', 'cli', 'main.ts'), later, later);
};

describe('npm start (scripts/ensure-built.mjs)', () => {
  test('does nothing when dist/ is current, even without TypeScript', () => {
    const r = ensure(tinyPackage('current', false));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  test('without TypeScript and a stale dist/ it explains instead of failing with tsc: not found', () => {
    const root = tinyPackage('stale-no-tsc', false);
    makeStale(root);
    const r = ensure(root);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /dist\/ is out of date \(src\/cli\/main\.ts\) and TypeScript is not installed/);
    assert.match(r.stderr, /npm ci && npm run build/);
  });

  test('with TypeScript and a stale dist/ it compiles once', () => {
    const root = tinyPackage('stale-tsc', true);
    makeStale(root);
    const js = join(root, 'dist', 'src', 'cli', 'main.js');
    const before = statSync(js).mtimeMs;
    const r = ensure(root);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /compiling/);
    assert.ok(statSync(js).mtimeMs > before, 'main.js rewritten');
  });

  test('without src/ (an installed package) dist/ is the program', () => {
    const root = tinyPackage('installed', false);
    rmSync(join(root, 'src'), { recursive: true });
    assert.equal(ensure(root).status, 0);
    rmSync(join(root, 'dist'), { recursive: true });
    const r = ensure(root);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing/);
  });
});

describe('npm pack, then npm install -g', () => {
  test('gives a multiuser-server command that serves and answers health', async () => {
    const packDir = join(dir, 'pack');
    mkdirSync(packDir);
    // dist/ is current here (the test run built it): pack what it would publish.
    const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(packed.status, 0, packed.stderr);
    const tgz = readdirSync(packDir).find((f) => /^multiuser-server-.*\.tgz$/.test(f));
    assert.ok(tgz !== undefined);
    const prefix = join(dir, 'global');
    // Dependencies come from the npm cache that `npm ci` filled.
    const installed = spawnSync(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(packDir, tgz)],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.equal(installed.status, 0, installed.stderr);
    const bin = join(prefix, 'bin', 'multiuser-server');

    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^multiuser-server \d+\.\d+\.\d+ /);

    const work = join(dir, 'run');
    mkdirSync(work);
    cpSync(join(ROOT, '.env.example'), join(work, '.env.example'));
    const port = await pickBasePort();
    const child = spawn(bin, ['--port', String(port), '--host', '127.0.0.1', '--data-dir', join(work, 'data')], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    try {
      await new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`not listening within 15 s:\n${out}`)), 15_000);
        child.stderr.on('data', () => {
          if (out.includes(`Listening on ${port}.`)) {
            clearTimeout(timer);
            resolvePromise();
          }
        });
        void exited.then(() => reject(new Error(`exited:\n${out}`)));
      });
      const info = await requestServerInfo({ host: '127.0.0.1', port, timeoutMs: 2000 });
      assert.equal(info.version, '0.9.10');
      const health = spawnSync(bin, ['health', `127.0.0.1:${port}`], { encoding: 'utf8' });
      assert.equal(health.status, 0, health.stdout + health.stderr);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });
});

describe('how node is launched', () => {
  /** `VAR=value … node --flag …` as words: the assignments and the node flags. */
  function launchOf(words: string[]): { env: string[]; flags: string[] } {
    const env: string[] = [];
    while (words.length > 0 && /^[A-Z_]+=/.test(words[0])) env.push(words.shift()!);
    assert.equal(words.shift(), 'node', words.join(' '));
    return { env, flags: words.filter((w) => w.startsWith('--')) };
  }

  test("the CLI's shebang and npm start give node the same environment and flags", () => {
    const shebang = readFileSync(join(ROOT, 'src', 'cli', 'main.ts'), 'utf8').split('\n')[0];
    const m = /^#!\/usr\/bin\/env -S (.*)$/.exec(shebang);
    assert.ok(m, shebang);
    const fromShebang = launchOf(m[1].trim().split(/\s+/));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
    const start = pkg.scripts.start.trim().split(/\s+/);
    const fromStart = launchOf(start.slice(0, start.indexOf('dist/src/cli/main.js')));
    assert.deepEqual(fromStart, fromShebang);
    // Huge pages for malloc's large blocks: a 1 GB snapshot loads in a third of the time.
    assert.ok(fromShebang.env.includes('GLIBC_TUNABLES=glibc.malloc.hugetlb=1'), fromShebang.env.join(' '));
    assert.ok(fromShebang.flags.includes('--expose-gc'));
  });
});
