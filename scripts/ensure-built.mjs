// `npm start`'s prestart: compile only when dist/ is older than src/, so a start takes a fraction
// of a second instead of a full tsc run. Without src/ (the packed tarball, an image) dist/ is the
// program. When a build is needed but TypeScript is absent (`npm ci --omit=dev`), say what to do
// instead of failing with `tsc: not found`.
//
// usage: node scripts/ensure-built.mjs [PACKAGE_ROOT]   (default: the working directory)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = process.argv[2] ?? process.cwd();
const main = join(root, 'dist', 'src', 'cli', 'main.js');
const srcDir = join(root, 'src');

/** Every .ts under dir, with its mtime. */
function sources(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The first source whose compiled file is missing or older, or undefined when dist/ is current. */
function staleSource() {
  for (const ts of sources(srcDir)) {
    const js = join(root, 'dist', relative(root, ts)).replace(/\.ts$/, '.js');
    if (!existsSync(js) || statSync(js).mtimeMs < statSync(ts).mtimeMs) return relative(root, ts);
  }
  return undefined;
}

if (!existsSync(srcDir)) {
  if (existsSync(main)) process.exit(0);
  console.error(
    `multiuser-server: ${relative(process.cwd(), main) || main} is missing and there is no src/ to build it from.`,
  );
  process.exit(1);
}

const stale = existsSync(main) ? staleSource() : 'dist/src/cli/main.js (missing)';
if (stale === undefined) process.exit(0);

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  console.error(
    `multiuser-server: dist/ is out of date (${stale}) and TypeScript is not installed here ` +
      '(npm ci --omit=dev leaves it out).\n' +
      'Build once with the dev dependencies (npm ci && npm run build), or install the packed ' +
      'package (npm pack; npm install -g ./multiuser-server-*.tgz), which ships dist/.',
  );
  process.exit(1);
}
console.error(`multiuser-server: dist/ is out of date (${stale}): compiling ...`);
const res = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
if (res.status !== 0) process.exit(res.status ?? 1);
// The admin console's page files sit next to the compiled module (scripts/copy-static.mjs).
const copy = join(root, 'scripts', 'copy-static.mjs');
const copied = existsSync(copy) ? spawnSync(process.execPath, [copy], { cwd: root, stdio: 'inherit' }) : { status: 0 };
process.exit(copied.status ?? 1);
