/**
 * data-inspect.ts decides read-only what store/recovery.ts decides while repairing: for each kind
 * of directory (healthy, torn tail, corrupt mid-journal, damaged snapshot, backup copied by hand,
 * every file damaged, journal only) the file it loads and the records it replays are recovery's,
 * and the directory is left as it was.
 */
import assert from 'node:assert/strict';
import { cpSync, copyFileSync, mkdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';

import { DEFAULT_CONFIG } from '../../src/cli/config.js';
import { imageCheckOf } from '../../src/cli/data-command.js';
import { inspectDataDir } from '../../src/cli/data-inspect.js';
import { replaySession } from '../../src/cli/data-replay.js';
import {
  backupNames,
  buildStandardDir,
  corruptFirstRecord,
  DataDirRig,
  makeTempDir,
  nodeMutation,
  onlySegment,
  recoverAsServer,
  tearTail,
  treeOf,
  uuidsOf,
} from './data-helpers.js';

const tmp = makeTempDir('cli-inspect-');
after(tmp.cleanup);
const quiet = new Writable({ write: (_c, _e, cb) => cb() });

const CASES: { name: string; damage: (dir: string) => Promise<void> | void }[] = [
  { name: 'healthy', damage: () => undefined },
  { name: 'torn journal tail', damage: (dir) => tearTail(onlySegment(dir)) },
  { name: 'corrupt mid-journal', damage: (dir) => corruptFirstRecord(onlySegment(dir)) },
  { name: 'damaged snapshot', damage: (dir) => truncateSync(join(dir, 'session_snapshot.pkl'), 70) },
  {
    name: 'older backup copied over the snapshot',
    damage: (dir) => copyFileSync(join(dir, 'backups', backupNames(dir)[0]), join(dir, 'session_snapshot.pkl')),
  },
  {
    name: 'every snapshot file damaged',
    damage: (dir) => {
      truncateSync(join(dir, 'session_snapshot.pkl'), 70);
      for (const b of backupNames(dir)) truncateSync(join(dir, 'backups', b), 70);
    },
  },
];

describe('inspectDataDir agrees with recovery', () => {
  for (const c of CASES) {
    test(`${c.name}: same file, same records, same replayed nodes`, async () => {
      const dir = join(tmp.dir, c.name.replace(/\W+/g, '-'));
      await buildStandardDir(dir);
      await c.damage(dir);
      const before = treeOf(dir);
      const plan = await inspectDataDir(dir, {
        checkAll: true,
        stderr: quiet,
        check: imageCheckOf({ adminPassword: 'test' }),
      });
      assert.deepEqual(treeOf(dir), before, 'inspection changed the directory');
      const replayed = replaySession(plan.loaded?.decoded ?? null, plan.journal.records, DEFAULT_CONFIG, quiet);

      const copy = `${dir}-recovered`;
      cpSync(dir, copy, { recursive: true });
      const recovered = await recoverAsServer(copy);
      assert.equal(plan.loaded?.check.file ?? null, recovered.result.source?.file ?? null);
      assert.deepEqual(
        plan.journal.records.map((r) => Buffer.from(r)),
        recovered.result.journal.records.map((r) => Buffer.from(r)),
      );
      assert.deepEqual(uuidsOf(replayed.image), uuidsOf(recovered.image));
    });
  }

  test('a journal with no snapshot yet (a crash before the first save) replays onto an empty session', async () => {
    const dir = join(tmp.dir, 'journal-only');
    mkdirSync(dir);
    const rig = new DataDirRig(dir);
    rig.apply(nodeMutation('a'), nodeMutation('b'));
    await rig.close();
    const plan = await inspectDataDir(dir, {
      checkAll: true,
      stderr: quiet,
      check: imageCheckOf({ adminPassword: 'test' }),
    });
    assert.equal(plan.loaded, null);
    assert.equal(plan.journal.records.length, 2);
    assert.equal(plan.journal.consistent, true);
    const replayed = replaySession(null, plan.journal.records, DEFAULT_CONFIG, quiet);
    assert.deepEqual(uuidsOf(replayed.image), uuidsOf((await recoverAsServer(dir)).image));
    assert.deepEqual(uuidsOf(replayed.image), ['a', 'b']);
  });
});
