/**
 * Snapshot files: SessionImage ⇄ gzip(pickle 4). Damaged-file fixtures are generated here from a
 * valid snapshot, one per case (STYLE.md §9): truncated, bit-flipped, trailing garbage, not gzip,
 * gzip of a non-pickle, wrong structures, a newer format.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';

import { decodePickle, encodePickle, PyDict, PyGlobal, pyInt, type PyValue, toView } from '../../src/pickle/index.js';
import { StoreError } from '../../src/store/errors.js';
import {
  decodeSnapshotBytes,
  DEFAULT_SNAPSHOT_READ_LIMITS,
  encodeSnapshot,
  readSnapshotFile,
} from '../../src/store/snapshot-codec.js';
import { DEFAULT_SESSION_LIMITS } from '../../src/session/index.js';
import { KEY_SERVER, SNAPSHOT_FORMAT_VERSION, type SnapshotMeta } from '../../src/store/snapshot-pickle.js';
import { fixturePath } from '../helpers/fixtures.js';
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

/** pyref.py --session-db: the add-on's loader, restricted. */
function pyLoad(path: string, full = false): Record<string, unknown> {
  const res = spawnSync('python3', [PYREF_PATH, '--session-db', path, ...(full ? ['--full'] : [])], {
    encoding: 'utf8',
  });
  if (res.error) throw res.error;
  return JSON.parse(res.stdout) as Record<string, unknown>;
}

async function encodeToBuffer(...args: Parameters<typeof encodeSnapshot>): Promise<Buffer> {
  return collect(encodeSnapshot(...args));
}

function dict(entries: [string, PyValue][]): PyDict {
  const d = new PyDict();
  for (const [k, v] of entries) d.setStr(k, v);
  return d;
}

async function rejectsCorrupt(gz: Uint8Array, code = 'STORE_CORRUPT'): Promise<StoreError> {
  let caught: unknown;
  await decodeSnapshotBytes(gz).catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof StoreError, `expected a StoreError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

describe('snapshot codec round trip', () => {
  test('a session at MAX_NODES fits the read limits (a few containers per node, not the per-message budget)', () => {
    const limits = DEFAULT_SNAPSHOT_READ_LIMITS.pickle;
    assert.ok((limits.maxContainers ?? 0) >= 8 * DEFAULT_SESSION_LIMITS.maxNodes);
    assert.ok((limits.maxItems ?? 0) >= 8 * DEFAULT_SESSION_LIMITS.maxNodes);
  });

  test('an image decodes back to the same nodes, users, state, chat, tasks and extra', async () => {
    const image = makeImage({ nodes: 5, users: ['alice', 'bob'], chat: 3, tasks: 2, extra: true });
    const gz = await encodeToBuffer(image, META);
    const back = await decodeSnapshotBytes(gz);
    assert.deepEqual(back.meta, META);
    assert.equal(back.snapshotId, META.snapshotId);
    assert.equal(back.image.initialized, true);
    assert.deepEqual(
      back.image.nodes.map((n) => [n.uuid, n.owner, Buffer.from(n.depsBytes), Buffer.from(n.dataBytes)]),
      image.nodes.map((n) => [n.uuid, n.owner, Buffer.from(n.depsBytes), Buffer.from(n.dataBytes)]),
    );
    assert.deepEqual(toView(back.image.users), toView(image.users));
    assert.deepEqual(toView(back.image.chat), toView(image.chat));
    assert.deepEqual(toView(back.image.tasks), toView(image.tasks));
    assert.deepEqual(toView(back.image.extra ?? null), toView(image.extra ?? null));
    assert.equal(back.compressedBytes, gz.length);
  });

  test('the pickle is a dict with nodes first, then users, then our key', async () => {
    const gz = await encodeToBuffer(makeImage(), META);
    const top = decodePickle(gunzipSync(gz));
    assert.ok(top instanceof PyDict);
    assert.deepEqual([...top.keys()], ['nodes', 'users', KEY_SERVER]);
    const ours = top.get(KEY_SERVER);
    assert.ok(ours instanceof PyDict);
    assert.deepEqual(
      [...ours.keys()],
      ['format_version', 'server_version', 'snapshot_id', 'saved_at', 'reason', 'initialized', 'chat', 'tasks'],
    );
    assert.equal(ours.get('format_version'), pyInt(1));
    assert.equal(ours.get('saved_at'), 1736695945.123);
  });

  test('an empty session round-trips as an uninitialized one', async () => {
    const image = makeImage({ nodes: 0, users: [], chat: 0, tasks: 0 });
    const back = await decodeSnapshotBytes(await encodeToBuffer(image, META));
    assert.equal(back.image.nodes.length, 0);
    assert.equal(back.image.initialized, false);
    assert.equal(back.image.users.size, 0);
  });

  test('more nodes than one APPENDS batch, and a payload big enough to bypass framing, survive', async () => {
    const image = makeImage({ nodes: 2345, bigBlob: 300_000 });
    const back = await decodeSnapshotBytes(await encodeToBuffer(image, META, { gzipLevel: 1 }));
    assert.equal(back.image.nodes.length, 2345);
    assert.equal(back.image.nodes[2344].uuid, 'node-2344');
    assert.ok(Buffer.from(back.image.nodes[0].dataBytes).equals(Buffer.from(image.nodes[0].dataBytes)));
  });

  test('the file is inflated straight into one buffer of the trailer size: node bytes are views of it, not copies', async () => {
    const image = makeImage({ nodes: 2345, bigBlob: 3_000_000 });
    const gz = await encodeToBuffer(image, META, { gzipLevel: 1 });
    const isize = gz.readUInt32LE(gz.length - 4);
    assert.ok(isize > 3_000_000, 'output over many zlib and read chunks');
    const back = await decodeSnapshotBytes(gz);
    // zlib's own output buffer (the declared size plus the byte that keeps it from filling up).
    for (const i of [0, 1000, 2344]) assert.equal(back.image.nodes[i].dataBytes.buffer.byteLength, isize + 1);
    assert.ok(Buffer.from(back.image.nodes[2344].dataBytes).equals(Buffer.from(image.nodes[2344].dataBytes)));
  });

  test('users, chat and tasks are encoded at capture: later changes to them do not reach the file', async () => {
    const image = makeImage({ users: ['alice'] });
    const stream = encodeSnapshot(image, META);
    image.users.setStr('mallory', dict([['id', 'mallory']]));
    image.chat.push('late');
    const back = await decodeSnapshotBytes(await collect(stream));
    assert.deepEqual([...back.image.users.keys()], ['alice']);
    assert.equal(back.image.chat.length, 2);
  });

  test('an unencodable uuid fails the stream, not the process', async () => {
    const image = makeImage({ nodes: 2 });
    image.nodes[1].uuid = 'bad\ud800';
    await assert.rejects(collect(encodeSnapshot(image, META)), { code: 'PROTOCOL_UTF8' });
  });
});

describe('snapshots open like the add-on loads a session file (CPython, restricted)', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = makeTempDir('codec-py-')));
  after(() => cleanup());

  test('gzip.open + restricted unpickle + db["nodes"] gives one list of 5 bytes per node, and a copy renamed .db too', async () => {
    const image = makeImage({ nodes: 4, users: ['alice', 'bob'], bigBlob: 100_000 });
    const path = join(dir, 'session_snapshot.pkl');
    writeFileSync(path, await encodeToBuffer(image, META));
    const db = join(dir, 'exported.db');
    copyFileSync(path, db);
    for (const file of [path, db]) {
      const out = pyLoad(file);
      assert.equal(out.ok, true, String(out.error));
      assert.deepEqual(out.keys, ['nodes', 'users', KEY_SERVER]);
      assert.equal(out.node_count, 4);
      assert.equal(out.nodes_are_chunk_lists, true);
      assert.equal(out.nodes_loaded, 4);
      assert.deepEqual(out.node_uuids, ['node-0', 'node-1', 'node-2', 'node-3']);
      assert.deepEqual(out.owners, ['COMMON', 'alice', 'COMMON', 'alice']);
      assert.deepEqual(out.users, ['alice', 'bob']);
      const server = out.server as Record<string, unknown>;
      assert.equal(server.snapshot_id, META.snapshotId);
      assert.equal(server.reason, META.reason);
      assert.equal(server.initialized, true);
    }
  });

  test('CPython reads the same values as our decoder', async () => {
    const image = makeImage({ nodes: 3, chat: 2, tasks: 2, extra: true });
    const gz = await encodeToBuffer(image, META);
    const path = join(dir, 'same.pkl');
    writeFileSync(path, gz);
    const out = pyLoad(path, true);
    assert.equal(out.ok, true, String(out.error));
    assert.deepEqual(out.view, toView(decodePickle(gunzipSync(gz))));
  });
});

describe('a session file saved by the add-on (import path)', () => {
  const samples = fixturePath('captures/samples');
  const dbName = readdirSync(samples).find((n) => /^session_.*\.db$/.test(n)) as string;
  const file = join(samples, dbName);
  const view = JSON.parse(readFileSync(`${file}.view.json`, 'utf8')) as {
    nodes_decoded: { uuid: string; owner: string }[];
    users: Record<string, unknown>;
  };

  test(`${dbName} decodes: its nodes in file order, its users, initialized, no chat or tasks archive`, async () => {
    const d = await readSnapshotFile(file);
    assert.equal(d.meta, null);
    assert.deepEqual(
      d.image.nodes.map((n) => [n.uuid, n.owner]),
      view.nodes_decoded.map((n) => [n.uuid, n.owner]),
    );
    assert.deepEqual([...d.image.users.keys()], Object.keys(view.users));
    assert.equal(d.image.initialized, true);
    assert.equal(d.image.chat.length, 0);
    assert.equal(d.image.tasks.size, 0);
  });

  test('its snapshot id comes from the gzip trailer: the same on every read, different for other content', async () => {
    const a = await readSnapshotFile(file);
    const b = await readSnapshotFile(file);
    assert.match(a.snapshotId, /^import-[0-9a-f]{8}-[0-9a-f]{8}$/);
    assert.equal(a.snapshotId, b.snapshotId);
    const other = gzipSync(Buffer.concat([gunzipSync(readFileSync(file))]), { level: 1 });
    assert.equal((await decodeSnapshotBytes(other)).snapshotId, a.snapshotId);
    const pickle = gunzipSync(readFileSync(file));
    const top = decodePickle(pickle) as PyDict;
    top.delete('users');
    const changed = await decodeSnapshotBytes(gzipSync(encodePickle(top)));
    assert.notEqual(changed.snapshotId, a.snapshotId);
    assert.equal(changed.image.users.size, 0);
  });

  test('re-encoded as our snapshot, it keeps every node byte-identical', async () => {
    const d = await readSnapshotFile(file);
    const back = await decodeSnapshotBytes(await encodeToBuffer(d.image, META));
    assert.deepEqual(
      back.image.nodes.map((n) => Buffer.from(n.dataBytes).toString('base64')),
      d.image.nodes.map((n) => Buffer.from(n.dataBytes).toString('base64')),
    );
  });
});

describe('damaged snapshot files are STORE_CORRUPT with a reason', () => {
  let valid: Buffer;
  before(async () => {
    valid = await encodeToBuffer(makeImage({ nodes: 6, bigBlob: 70_000 }), META);
  });

  test('every truncation of a valid file is refused', async () => {
    // Every length up to 64 (header, first block), then every 97th, then the last 16 bytes.
    const lengths = new Set<number>();
    for (let n = 0; n < Math.min(64, valid.length); n++) lengths.add(n);
    for (let n = 64; n < valid.length; n += 97) lengths.add(n);
    for (let n = Math.max(0, valid.length - 16); n < valid.length; n++) lengths.add(n);
    for (const n of lengths) await rejectsCorrupt(valid.subarray(0, n));
  });

  test('a flipped bit anywhere in the deflate data or trailer is refused', async () => {
    for (const at of [12, 40, Math.floor(valid.length / 2), valid.length - 12, valid.length - 6, valid.length - 1]) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(valid);
        bad[at] ^= bit;
        const e = await rejectsCorrupt(bad);
        assert.match(e.message, /gzip|trailer|pickle/);
      }
    }
  });

  test('bytes appended after the gzip member are refused', async () => {
    await rejectsCorrupt(Buffer.concat([valid, Buffer.from('garbage!')]));
  });

  test('a file that is not gzip is refused', async () => {
    await rejectsCorrupt(Buffer.from('this is not a gzip file at all, just text'));
  });

  const structural: [string, () => Buffer][] = [
    ['gzip of bytes that are not a pickle', () => gzipSync(Buffer.from('hello world, not a pickle'))],
    ['a pickle that is a list, not a dict', () => gzipSync(encodePickle([]))],
    ["a dict without 'nodes'", () => gzipSync(encodePickle(dict([['users', new PyDict()]])))],
    ["'nodes' that is not a list", () => gzipSync(encodePickle(dict([['nodes', 'x']])))],
    [
      'a node chunk list with 4 items',
      () =>
        gzipSync(
          encodePickle(
            dict([['nodes', [[new Uint8Array(1), new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)]]]]),
          ),
        ),
    ],
    ['a node chunk that is a str', () => gzipSync(encodePickle(dict([['nodes', [['a', 'b', 'c', 'd', 'e']]]])))],
    [
      "'users' that is a list",
      () =>
        gzipSync(
          encodePickle(
            dict([
              ['nodes', []],
              ['users', []],
            ]),
          ),
        ),
    ],
    [
      `'${KEY_SERVER}' without a snapshot id`,
      () =>
        gzipSync(
          encodePickle(
            dict([
              ['nodes', []],
              [KEY_SERVER, dict([['format_version', pyInt(1)]])],
            ]),
          ),
        ),
    ],
  ];
  for (const [name, make] of structural) {
    test(`${name} is refused`, async () => {
      await rejectsCorrupt(make());
    });
  }

  test('a newer format version is STORE_FORMAT, not corruption', async () => {
    const top = decodePickle(gunzipSync(valid)) as PyDict;
    (top.get(KEY_SERVER) as PyDict).setStr('format_version', pyInt(SNAPSHOT_FORMAT_VERSION + 1));
    await rejectsCorrupt(gzipSync(encodePickle(top)), 'STORE_FORMAT');
  });

  test('a missing file is STORE_NOT_FOUND', async () => {
    await assert.rejects(readSnapshotFile('/nonexistent/dir/session_snapshot.pkl'), { code: 'STORE_NOT_FOUND' });
  });
});

describe('a session file is input', () => {
  test('a global anywhere in the session pickle (here in a user record) is STORE_REFUSED', async () => {
    const gz = await encodeToBuffer(makeImage({ nodes: 2 }), META);
    const top = decodePickle(gunzipSync(gz)) as PyDict;
    const users = top.get('users') as PyDict;
    (users.get('alice') as PyDict).setStr('metadata', dict([['x', new PyGlobal('posix', 'system')]]));
    const err = await rejectsCorrupt(gzipSync(encodePickle(top)), 'STORE_REFUSED');
    assert.match(err.message, /a global \(posix\.system\)/);
  });

  test("the caller's check runs on the decoded image and its refusal is STORE_REFUSED", async () => {
    const gz = await encodeToBuffer(makeImage({ nodes: 2 }), META);
    const seen: number[] = [];
    const check = (image: { nodes: unknown[] }): string | null => {
      seen.push(image.nodes.length);
      return 'node "x": bad';
    };
    await assert.rejects(decodeSnapshotBytes(gz, undefined, 'f', check), { code: 'STORE_REFUSED' });
    assert.deepEqual(seen, [2]);
    assert.equal((await decodeSnapshotBytes(gz, undefined, 'f', () => null)).image.nodes.length, 2);
  });
});
