import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { copyFileAtomic, writeFileAtomic } from '../../src/store/atomic-write.js';
import { StoreError } from '../../src/store/errors.js';
import { faultyFs, makeTempDir, type FaultOp } from './helpers.js';

describe('writeFileAtomic', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('atomic-')));
  afterEach(() => cleanup());

  test('a stream of chunks becomes the file, and no temp file is left', async () => {
    const target = join(dir, 'out.bin');
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('hello ');
      yield new Uint8Array([0x77, 0x6f]);
      yield Buffer.from('rld');
    }
    const res = await writeFileAtomic(target, chunks());
    assert.equal(res.bytes, 11);
    assert.equal(readFileSync(target, 'utf8'), 'hello world');
    assert.deepEqual(readdirSync(dir), ['out.bin']);
  });

  test('an existing file is replaced', async () => {
    const target = join(dir, 'out.bin');
    writeFileSync(target, 'old');
    await writeFileAtomic(target, Buffer.from('new'));
    assert.equal(readFileSync(target, 'utf8'), 'new');
  });

  test('the steps run in the fixed order: temp write, fsync, close, rename, directory fsync', async () => {
    const fsys = faultyFs([]);
    const target = join(dir, 'out.bin');
    await writeFileAtomic(target, Buffer.from('x'), { fs: fsys });
    const ops = fsys.calls.map((c) => c.split(' ')[0]);
    assert.deepEqual(ops, [
      'open',
      'handle.write',
      'handle.sync',
      'handle.close',
      'rename',
      'open',
      'handle.sync',
      'handle.close',
    ]);
    assert.match(fsys.calls[0], /out\.bin\.\d+\.\d+\.tmp$/);
    assert.equal(fsys.calls[5], `open ${dir}`);
  });

  const failures: [FaultOp, string, string][] = [
    ['open', 'EACCES', 'open'],
    ['handle.write', 'ENOSPC', 'write'],
    ['handle.sync', 'EIO', 'fsync'],
    ['handle.close', 'EIO', 'close'],
    ['rename', 'EACCES', 'rename'],
  ];
  for (const [op, errno, step] of failures) {
    test(`${errno} at ${op} leaves the previous file intact, removes the temp file and reports step ${step}`, async () => {
      const target = join(dir, 'snap.pkl');
      writeFileSync(target, 'previous');
      const fsys = faultyFs([{ op, errno, when: (p) => p !== dir }]);
      await assert.rejects(writeFileAtomic(target, Buffer.from('next'), { fs: fsys }), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.code, 'STORE_WRITE_FAILED');
        assert.equal(e.step, step);
        assert.equal(e.errno, errno);
        return true;
      });
      assert.equal(readFileSync(target, 'utf8'), 'previous');
      assert.deepEqual(readdirSync(dir), ['snap.pkl']);
    });
  }

  test('a failure of the directory fsync is reported after the new file is in place', async () => {
    const target = join(dir, 'snap.pkl');
    const fsys = faultyFs([{ op: 'open', errno: 'EIO', when: (p) => p === dir }]);
    await assert.rejects(writeFileAtomic(target, Buffer.from('next'), { fs: fsys }), { code: 'STORE_WRITE_FAILED' });
    assert.equal(readFileSync(target, 'utf8'), 'next');
  });

  test('a failing source reports step source and leaves nothing behind', async () => {
    const target = join(dir, 'snap.pkl');
    writeFileSync(target, 'previous');
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('partial');
      throw new Error('encoder exploded');
    }
    await assert.rejects(writeFileAtomic(target, broken()), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.step, 'source');
      return true;
    });
    assert.equal(readFileSync(target, 'utf8'), 'previous');
    assert.deepEqual(readdirSync(dir), ['snap.pkl']);
  });

  test('a write failure stops the source instead of draining it', async () => {
    let pulled = 0;
    let finished = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          pulled++;
          yield Buffer.alloc(10);
        }
      } finally {
        finished = true;
      }
    }
    const fsys = faultyFs([{ op: 'handle.write', errno: 'ENOSPC' }]);
    await assert.rejects(writeFileAtomic(join(dir, 'x'), endless(), { fs: fsys }), { code: 'STORE_WRITE_FAILED' });
    assert.equal(pulled, 1);
    assert.equal(finished, true);
  });

  test('noReplace refuses an existing target with STORE_EXISTS and keeps it', async () => {
    const target = join(dir, 'backup.pkl');
    writeFileSync(target, 'first');
    await assert.rejects(writeFileAtomic(target, Buffer.from('second'), { noReplace: true }), { code: 'STORE_EXISTS' });
    assert.equal(readFileSync(target, 'utf8'), 'first');
    assert.deepEqual(readdirSync(dir), ['backup.pkl']);
  });

  test('noReplace falls back to check-and-rename where hard links are not supported', async () => {
    const fsys = faultyFs([{ op: 'link', errno: 'EPERM' }]);
    const target = join(dir, 'backup.pkl');
    await writeFileAtomic(target, Buffer.from('data'), { fs: fsys, noReplace: true });
    assert.equal(readFileSync(target, 'utf8'), 'data');
    await assert.rejects(writeFileAtomic(target, Buffer.from('again'), { fs: fsys, noReplace: true }), {
      code: 'STORE_EXISTS',
    });
    assert.equal(readFileSync(target, 'utf8'), 'data');
    assert.deepEqual(readdirSync(dir), ['backup.pkl']);
  });
});

describe('copyFileAtomic', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('atomic-copy-')));
  afterEach(() => cleanup());

  test('copies a file under a new name and reports its size', async () => {
    writeFileSync(join(dir, 'a'), 'content');
    const res = await copyFileAtomic(join(dir, 'a'), join(dir, 'b'), { noReplace: true });
    assert.equal(res.bytes, 7);
    assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'content');
    assert.deepEqual(readdirSync(dir).sort(), ['a', 'b']);
  });

  test('a disk-full copy leaves neither the target nor a temp file', async () => {
    writeFileSync(join(dir, 'a'), 'content');
    const fsys = faultyFs([{ op: 'copyFile', errno: 'ENOSPC' }]);
    await assert.rejects(copyFileAtomic(join(dir, 'a'), join(dir, 'b'), { fs: fsys }), { code: 'STORE_WRITE_FAILED' });
    assert.equal(existsSync(join(dir, 'b')), false);
    assert.deepEqual(readdirSync(dir), ['a']);
  });
});
