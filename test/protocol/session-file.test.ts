/**
 * The add-on's session file (captures/samples/session_*.db, written by `Repository.dumps` at the
 * end of capture 01, §6): gzip of a pickle `{'nodes': [chunk lists], 'users': {...}}`. Its node
 * chunk lists parse into Nodes, and a file rebuilt from those Nodes reads the same in CPython.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import {
  decodePickle,
  encodePickle,
  PyDict,
  type PyValue,
  toView,
  viewsEqual,
  type View,
} from '../../src/pickle/index.js';
import { MessageType, nodesFromChunkLists, nodesToChunkLists, strDict, type Node } from '../../src/protocol/index.js';
import { fixturePath } from '../helpers/fixtures.js';
import { pyrefById, runPyref, type PyrefLine } from '../helpers/python.js';

const samples = fixturePath('captures/samples');
const dbName = readdirSync(samples).find((n) => /^session_.*\.db$/.test(n)) as string;
const pickled = gunzipSync(readFileSync(`${samples}/${dbName}`));
const expected = JSON.parse(readFileSync(`${samples}/${dbName}.view.json`, 'utf8')) as {
  top_level_keys: string[];
  nodes_decoded: { class: string; uuid: string; owner: string; dependencies: string[] }[];
};

describe(`session file ${dbName}`, () => {
  const file = decodePickle(pickled);
  assert.ok(file instanceof PyDict);
  let nodes: Node[] = [];
  let py = new Map<unknown, PyrefLine>();

  before(() => {
    nodes = nodesFromChunkLists(file.get('nodes') ?? null);
    const rebuilt = encodePickle(
      strDict([
        ['nodes', nodesToChunkLists(nodes)],
        ['users', file.get('users') as PyValue],
      ]),
    );
    const items: object[] = [
      { id: 'file', pickle_b64: pickled.toString('base64') },
      { id: 'rebuilt', pickle_b64: rebuilt.toString('base64') },
      ...nodes.map((n, i) => ({ id: `data:${i}`, pickle_b64: Buffer.from(n.dataBytes).toString('base64') })),
    ];
    py = pyrefById(runPyref(['--mode', 'strict'], items));
  });

  test('the file is a dict with the top-level keys of its view', () => {
    assert.deepEqual([...file.keys()], expected.top_level_keys);
  });

  test("its 'nodes' chunk lists parse into the Nodes of the view, in file order", () => {
    assert.equal(nodes.length, expected.nodes_decoded.length);
    nodes.forEach((node, i) => {
      const want = expected.nodes_decoded[i];
      assert.equal(node.type, MessageType.Node);
      assert.equal(want.class, 'Node');
      assert.equal(node.uuid, want.uuid);
      assert.equal(node.owner, want.owner);
      assert.deepEqual(node.deps, want.dependencies);
      assert.equal(node.raw?.length, 5);
    });
  });

  test('every node data pickle reads the same in TS and in CPython', () => {
    nodes.forEach((node, i) => {
      const line = py.get(`data:${i}`);
      assert.ok(line?.ok, line?.error);
      assert.ok(viewsEqual(toView(decodePickle(node.dataBytes)), line.view as View));
    });
  });

  test('a session file rebuilt from the parsed Nodes reads in CPython exactly as the original', () => {
    const file = py.get('file');
    const rebuilt = py.get('rebuilt');
    assert.ok(file?.ok && rebuilt?.ok, file?.error ?? rebuilt?.error);
    assert.ok(viewsEqual(file.view as View, rebuilt.view as View));
    assert.ok(viewsEqual(toView(decodePickle(pickled)), file.view as View));
  });
});
