/**
 * The snapshot pickle written through the pickle package's streaming encoder is byte-identical to
 * what the server wrote before it (SHA-256 of the raw pickle recorded from the earlier writer),
 * across framing edges: no nodes, one node, several APPENDS batches, payloads around 64 KiB, a
 * head bigger than a frame, non-ASCII names. The add-on's restricted loader reads the result.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { encodePickle, PyDict } from '../../src/pickle/index.js';
import { encodeSnapshot } from '../../src/store/snapshot-codec.js';
import { SNAPSHOT_FORMAT_VERSION, snapshotPickleParts, type SnapshotMeta } from '../../src/store/snapshot-pickle.js';
import type { SessionImage } from '../../src/store/session-image.js';
import { PYREF_PATH } from '../helpers/python.js';
import { spawnSync } from 'node:child_process';
import { collect, makeImage, makeTempDir } from './helpers.js';

const META: SnapshotMeta = {
  formatVersion: SNAPSHOT_FORMAT_VERSION,
  serverVersion: '0.1.0-test',
  snapshotId: '20250112T143025123Z-0badf00d',
  savedAtMs: 1736695945123,
  reason: 'user_disconnect:Alice',
};

/** Deterministic bytes (an LCG), so the recorded hashes stay valid. */
function blob(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

interface ImageOptions {
  names?: (i: number) => string;
  chat?: number;
  /** Node data as a pickle holding the blob (what the add-on's loader decodes), not the raw blob. */
  pickled?: boolean;
}

function image(nodeSizes: number[], opts: ImageOptions = {}): SessionImage {
  const base = makeImage({ nodes: 0, chat: opts.chat ?? 2 });
  const names = opts.names ?? ((i: number) => `node-${i}`);
  base.nodes = nodeSizes.map((size, i) => ({
    uuid: names(i),
    owner: i % 3 === 0 ? 'COMMON' : `ówner-${i % 5}`,
    depsBytes: encodePickle(i > 0 ? [names(i - 1)] : []),
    dataBytes: opts.pickled ? encodePickle(dataDict(names(i), blob(size, i + 1))) : blob(size, i + 1),
  }));
  return base;
}

function dataDict(name: string, b: Buffer): PyDict {
  const d = new PyDict();
  d.setStr('type_id', 'Object');
  d.setStr('uuid', name);
  d.setStr('blob', b);
  return d;
}

function unicodeUsers(img: SessionImage): SessionImage {
  const users = new PyDict();
  for (const u of ['Zoë', '佐藤', 'ołówek 🖉', 'a\u0301']) users.setStr(u, new PyDict());
  img.users = users;
  return img;
}

const CASES: [string, () => SessionImage, string][] = [
  ['empty session', () => image([]), 'EMPTY'],
  ['one node', () => image([16]), 'ONE'],
  [
    '2,500 small nodes (three APPENDS batches)',
    () => image(Array.from({ length: 2500 }, (_, i) => 20 + (i % 300))),
    'MANY',
  ],
  [
    'payloads around 64 KiB and above (frames cut, payloads outside frames)',
    () => image([65535, 65536, 10, 3 * 1024 * 1024, 65533, 70000, 1, 40000, 40000]),
    'LARGE',
  ],
  ['a head bigger than one frame (long chat)', () => image([100, 200], { chat: 3000 }), 'BIGHEAD'],
  [
    'unicode node names, owners and user names',
    () => unicodeUsers(image([10, 300, 70000], { names: (i) => `nœud-${i}-名前-🙂` })),
    'UNICODE',
  ],
];

/** Length and SHA-256 of each case's raw pickle, as the writer before the streaming encoder made it. */
const EXPECTED: Record<string, string> = {
  EMPTY: 'EMPTY 503 02173976791a6e9ceb1783a09d7eb5dc7a09152c5a738b5efdc61b32410c6b1b',
  ONE: 'ONE 555 7fe15ff28753eb2f50f60e447b6de7d4c89dffedf55eb3b6a70b6440cdf5bef1',
  MANY: 'MANY 564457 b92545188a49b6dc582b724fe0080bf180c102943da86985a900b1b101547b08',
  LARGE: 'LARGE 3493384 8708eb58cd8843745cee805c2838ba86529f6ad48bbd428f0c08117fd9d7c19b',
  BIGHEAD: 'BIGHEAD 152713 870484656af891320a8c3c2753b6b249a7837a0950a32cf04c939944711ad297',
  UNICODE: 'UNICODE 71019 b28000d87bdab8a6a4a6c82c4c01e45bea4c18017ef5ace8cec64ff64e3ae2d5',
};

function rawPickle(img: SessionImage): Buffer {
  return Buffer.concat([...snapshotPickleParts(img, META)]);
}

describe('snapshot pickle bytes', () => {
  for (const [name, make, key] of CASES) {
    test(`${name}: same bytes as the earlier writer`, () => {
      const raw = rawPickle(make());
      const hash = createHash('sha256').update(raw).digest('hex');
      assert.equal(`${key} ${raw.length} ${hash}`, EXPECTED[key]);
    });
  }
});

describe('snapshot pickle read by the add-on loader (restricted CPython unpickler)', () => {
  const { dir, cleanup } = makeTempDir('snapshot-stream-');
  after(() => cleanup());

  test('unicode names, many nodes and payloads above 64 KiB load; every node is a list of 5 bytes', async () => {
    const names = (i: number): string => `nœud-${i}-名前-🙂`;
    const sizes = Array.from({ length: 1200 }, (_, i) => (i % 400 === 7 ? 200_000 : 30 + (i % 90)));
    const img = unicodeUsers(image(sizes, { names, pickled: true }));
    const path = join(dir, 'session_snapshot.pkl');
    writeFileSync(path, await collect(encodeSnapshot(img, META)));
    const res = spawnSync('python3', [PYREF_PATH, '--session-db', path], { encoding: 'utf8' });
    if (res.error) throw res.error;
    const out = JSON.parse(res.stdout) as Record<string, unknown>;
    assert.equal(out.ok, true, String(out.error));
    assert.equal(out.node_count, 1200);
    assert.equal(out.nodes_are_chunk_lists, true);
    assert.equal(out.nodes_loaded, 1200);
    assert.deepEqual(
      out.node_uuids,
      sizes.map((_, i) => names(i)),
    );
    assert.deepEqual(
      out.owners,
      img.nodes.map((n) => n.owner),
    );
    assert.deepEqual(out.users, ['Zoë', '佐藤', 'ołówek 🖉', 'a\u0301']);
  });
});
