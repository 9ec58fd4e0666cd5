/**
 * `multiuser-server export --out FILE.db [--force] [--data-dir DIR]`: the session the next start
 * would serve — the snapshot recovery picks plus its journal, replayed through the session
 * (data-replay.ts) — written as a session file the add-on opens with *Load session save*
 * (REPLICATION-PROTOCOL §6: gzip of a protocol-4 pickle with `'nodes'` chunk lists and
 * `'users'`; our `'multiuser_server'` key with chat and tasks rides along and is ignored by the
 * add-on, so `import` of the file brings them back). The data directory is not changed.
 * An existing FILE is refused unless `--force` (then it is replaced atomically).
 */
import { isAbsolute, resolve } from 'node:path';

import { NODE_STORE_FS, statOrNull, StoreError } from '../store/index.js';
import {
  type DataIo,
  EXIT_FAIL,
  EXIT_OK,
  EXIT_USAGE,
  formatBytes,
  imageCheckOf,
  parseDataArgs,
  sessionOptionsOf,
  withDataDirLock,
} from './data-command.js';
import { inspectDataDir } from './data-inspect.js';
import { replaySession } from './data-replay.js';
import { snapshotMetaOf, writeSnapshotImage } from './data-set-aside.js';
import { EXPORT_AT_USAGE, namesMoment, runExportAt } from './history-restore.js';

export const EXPORT_USAGE = `usage: multiuser-server export --out FILE.db [--force] [--data-dir DIR]\n${EXPORT_AT_USAGE.replace('usage: ', '       ')}`;

export async function runExport(argv: readonly string[], io: DataIo): Promise<number> {
  if (namesMoment(argv)) return runExportAt(argv, io);
  const args = parseDataArgs(argv, io, { '--out': 'value', '--force': 'bool' }, { min: 0, max: 0 });
  const outArg = typeof args === 'string' ? undefined : args.flags.get('--out');
  if (typeof args === 'string' || typeof outArg !== 'string') {
    io.stderr.write(
      `multiuser-server export: ${typeof args === 'string' ? args : '--out FILE.db is required'}\n${EXPORT_USAGE}`,
    );
    return EXIT_USAGE;
  }
  const now = io.now ?? Date.now;
  const out = isAbsolute(outArg) ? outArg : resolve(io.cwd, outArg);
  const force = args.flags.has('--force');
  const fail = (text: string): number => {
    io.stderr.write(`multiuser-server export: ${text}\n`);
    return EXIT_FAIL;
  };

  return withDataDirLock('export', args.dataDir, io, { create: false }, async () => {
    // Checked first so a long replay is not wasted; the write itself never replaces without --force.
    if (!force && (await statOrNull(NODE_STORE_FS, out)) !== null) {
      return fail(`${out} already exists; use --force to replace it`);
    }
    const plan = await inspectDataDir(args.dataDir, {
      checkAll: false,
      stderr: io.stderr,
      check: imageCheckOf(sessionOptionsOf(args.config)),
    });
    if (plan.fatal !== null) {
      return fail(`the server would refuse to load this data directory: ${plan.fatal.error?.message ?? ''}`);
    }
    if (plan.loaded === null && plan.journal.records.length === 0) {
      return fail(
        plan.files.length === 0
          ? `no session saved in ${args.dataDir}: nothing to export`
          : 'no snapshot or backup decodes (run `multiuser-server verify`): nothing to export',
      );
    }
    const r = replaySession(plan.loaded?.decoded ?? null, plan.journal.records, args.config, io.stderr);
    for (const p of r.problems) io.stderr.write(`multiuser-server export: warning: ${p}\n`);
    const image = r.image;
    if (image.nodes.length === 0) io.stderr.write('multiuser-server export: warning: the session has no nodes\n');
    let bytes: number;
    try {
      ({ bytes } = await writeSnapshotImage(out, image, snapshotMetaOf('export', now()), {
        stderr: io.stderr,
        noReplace: !force,
        label: `Writing ${outArg}`,
      }));
    } catch (err) {
      if (err instanceof StoreError && err.code === 'STORE_EXISTS')
        return fail(`${out} already exists; use --force to replace it`);
      throw err;
    }
    const from = plan.loaded === null ? 'an empty session' : plan.loaded.check.file;
    io.stdout.write(
      `Exported ${image.nodes.length} nodes, ${image.users.size} users, ${image.chat.length} chat message(s) and ` +
        `${image.tasks.size} task(s) (${from} + ${r.records} journal record(s)) to ${out} (${formatBytes(bytes)})\n` +
        'Open it in Blender with the Multi-User add-on: Load session save.\n',
    );
    return EXIT_OK;
  });
}
