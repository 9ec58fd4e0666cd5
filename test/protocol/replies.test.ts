/**
 * The frames we build for server replies carry exactly the Python types of the reference's own
 * replies: for every server-to-client message in the captures, our builder fed with the captured
 * content gives frames that TS and CPython (strict pyref.py, one process) read to the same view
 * as the captured frames.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { before, describe, test } from 'node:test';

import { PyDict, type PyValue, toView, viewsEqual, type View } from '../../src/pickle/index.js';
import {
  AUTH_FAILED_ALREADY_LOGGED_IN,
  AUTH_FAILED_WRONG_ADMIN_PASSWORD,
  AUTH_FAILED_WRONG_SERVER_PASSWORD,
  AUTH_REPLY_LOBBY,
  AUTH_REPLY_RUNNING,
  authFailedWrongVersion,
  decodeMessage,
  encodeAuthReply,
  encodeDelete,
  encodeDisconnect,
  encodeRight,
  encodeServerInfoReply,
  encodeServerSnapshotReply,
  encodeSnapshotInit,
  encodeSnapshotRemoved,
  encodeSnapshotSet,
  encodeUnlockRight,
  encodeUpdateClientsState,
  isNodeRemovedMarker,
  messageFrames,
  MessageType,
  messageTypeName,
  nodeFromChunks,
  OWNER_SERVER,
  ProtocolError,
  type AnyCommand,
  type ServerSnapshotReplyState,
  type UserRecord,
} from '../../src/protocol/index.js';
import { fixturePath, loadJsonl } from '../helpers/fixtures.js';
import { pyrefById, runPyref, type PyrefLine } from '../helpers/python.js';

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

function get(d: PyValue, key: string): PyValue {
  assert.ok(d instanceof PyDict, 'expected a dict');
  const v = d.get(key);
  assert.notEqual(v, undefined, `missing key ${key}`);
  return v as PyValue;
}

function str(v: PyValue): string {
  assert.equal(typeof v, 'string');
  return v as string;
}

function strList(v: PyValue): string[] {
  assert.ok(Array.isArray(v));
  return v.map(str);
}

/** Our builder's frames for the content of a captured server-to-client command. */
function rebuild(msg: AnyCommand): Buffer[] {
  const data = msg.data;
  switch (msg.type) {
    case MessageType.Auth:
      return encodeAuthReply(str(data));
    case MessageType.UpdateClientsState: {
      assert.ok(data instanceof PyDict);
      const users: UserRecord[] = [...data.values()].map((rec) => ({
        id: str(get(rec, 'id')),
        admin: get(rec, 'admin') as boolean,
        latencyMs: Number(get(rec, 'latency')),
        status: Number(get(rec, 'status')),
        metadata: get(rec, 'metadata') as PyDict,
      }));
      return encodeUpdateClientsState(users);
    }
    case MessageType.RequestServerInfo:
      return encodeServerInfoReply(get(data, 'private') as boolean);
    case MessageType.Snapshot: {
      const state = get(data, 'STATE');
      if (state === 'INIT') return encodeSnapshotInit(strList(get(data, 'CATALOG')));
      assert.equal(state, 'SET');
      const chunks = get(data, 'DATA');
      return isNodeRemovedMarker(chunks) ? encodeSnapshotRemoved() : encodeSnapshotSet(nodeFromChunks(chunks));
    }
    case MessageType.ServerSnapshot:
      return encodeServerSnapshotReply(str(get(data, 'STATE')) as ServerSnapshotReplyState);
    case MessageType.Right: {
      const ids = strList(get(data, 'uuid'));
      const owner = str(get(data, 'owner'));
      return msg.owner === OWNER_SERVER ? encodeUnlockRight(ids) : encodeRight(msg.owner, ids, owner);
    }
    case MessageType.Delete:
      return encodeDelete(msg.owner, str(data));
    case MessageType.Disconnect:
      assert.equal(str(get(data, 'reason')), 'kicked by admin');
      return encodeDisconnect();
    default:
      // UpdateUserMetadata is a relay of the client's own frames.
      return messageFrames(msg);
  }
}

interface Case {
  label: string;
  original: Buffer[];
  built?: Buffer[];
  error?: unknown;
}

const cases: Case[] = [];
for (const name of readdirSync(fixturePath('captures'))
  .filter((n) => n.endsWith('.jsonl'))
  .sort()) {
  loadJsonl(`captures/${name}`).forEach((r, i) => {
    if (r.dir !== 's2c' || r.socket === 'ttl') return;
    const original: Buffer[] = r.frames_b64.map(b64);
    const label = `${name} #${i} ${messageTypeName(r.type_num)} to ${r.client}`;
    try {
      const msg = decodeMessage(original);
      const built =
        msg.type === MessageType.Node || msg.type === MessageType.Commit ? messageFrames(msg) : rebuild(msg);
      cases.push({ label, original, built });
    } catch (error) {
      cases.push({ label, original, error });
    }
  });
}

describe('server replies built by us match the captured replies', () => {
  let py = new Map<unknown, PyrefLine>();

  before(() => {
    const items: object[] = [];
    cases.forEach((c, n) => {
      if (c.built === undefined || c.built.length < 3) return;
      const last = c.original.length - 1;
      items.push({ id: `${n}:orig`, pickle_b64: c.original[last === 2 ? 2 : 3].toString('base64') });
      items.push({ id: `${n}:built`, pickle_b64: c.built[last === 2 ? 2 : 3].toString('base64') });
    });
    py = pyrefById(runPyref(['--mode', 'strict'], items));
  });

  test('the captures hold server replies of every kind the server originates', () => {
    const kinds = new Set(cases.map((c) => c.label.split(' ')[2]));
    for (const k of [
      'Auth',
      'UpdateClientsState',
      'RequestServerInfo',
      'Snapshot',
      'ServerSnapshot',
      'Right',
      'Delete',
      'Disconnect',
    ]) {
      assert.ok(kinds.has(k), k);
    }
  });

  cases.forEach((c, n) => {
    test(`${c.label}`, () => {
      if (c.error !== undefined) throw c.error;
      const built = c.built as Buffer[];
      assert.equal(built.length, c.original.length);
      // Type and text frames are byte-identical; pickles are compared as values (§2.4: types must
      // match, bytes need not).
      assert.ok(built[0].equals(c.original[0]));
      assert.ok(built[1].equals(c.original[1]));
      const a = decodeMessage(c.original);
      const b = decodeMessage(built);
      if (a.type !== MessageType.Node && a.type !== MessageType.Commit) {
        assert.ok(b.type === a.type);
        assert.ok(viewsEqual(toView(a.data), toView((b as AnyCommand).data)), 'TS views differ');
        const orig = py.get(`${n}:orig`);
        const ours = py.get(`${n}:built`);
        assert.ok(orig?.ok && ours?.ok, `CPython refused a frame: ${orig?.error ?? ours?.error}`);
        assert.ok(viewsEqual(orig.view as View, ours.view as View), 'CPython views differ');
      } else {
        built.forEach((f, i) => assert.ok(f.equals(c.original[i]), `relayed frame ${i} differs`));
      }
    });
  });
});

describe('reply strings', () => {
  test('every captured Auth reply is one of the named reply strings', () => {
    const known = new Set([
      AUTH_REPLY_LOBBY,
      AUTH_REPLY_RUNNING,
      AUTH_FAILED_ALREADY_LOGGED_IN,
      AUTH_FAILED_WRONG_ADMIN_PASSWORD,
      AUTH_FAILED_WRONG_SERVER_PASSWORD,
      authFailedWrongVersion('0.9.9'),
    ]);
    const seen = new Set<string>();
    for (const c of cases) {
      if (!c.label.includes(' Auth ')) continue;
      const msg = decodeMessage(c.original) as AnyCommand;
      assert.equal(typeof msg.data, 'string');
      seen.add(msg.data as string);
    }
    assert.deepEqual([...seen].sort(), [...known].sort());
  });

  test('the reply strings are verbatim those of spec §4.2', () => {
    assert.equal(AUTH_REPLY_LOBBY, 'LOBBY');
    assert.equal(AUTH_REPLY_RUNNING, 'RUNNING');
    assert.equal(AUTH_FAILED_ALREADY_LOGGED_IN, 'FAILED: client already logged in');
    assert.equal(AUTH_FAILED_WRONG_ADMIN_PASSWORD, 'FAILED: wrong admin password');
    assert.equal(AUTH_FAILED_WRONG_SERVER_PASSWORD, 'FAILED: wrong server password');
    assert.equal(authFailedWrongVersion('0.9.9'), 'FAILED: wrong client version (0.9.9 != 0.9.10)');
  });

  test('the LOBBY reply frame is the byte string quoted in §4.2', () => {
    const quoted = '80 04 95 09 00 00 00 00 00 00 00 8c 05 4c 4f 42 42 59 94 2e';
    assert.equal(encodeAuthReply('LOBBY')[2].toString('hex'), quoted.replace(/ /g, ''));
  });

  test('an empty Snapshot catalog is refused: it crashes the reference client (crash: empty_catalog)', () => {
    assert.throws(
      () => encodeSnapshotInit([]),
      (err: unknown) => err instanceof ProtocolError && err.code === 'PROTOCOL_SHAPE',
    );
  });

  test("the removed SET is the frame quoted in §2.3, with DATA as bytes b'removed'", () => {
    assert.equal(
      encodeSnapshotRemoved()[2].toString('hex'),
      '80 04 95 24 00 00 00 00 00 00 00 7d 94 28 8c 05 53 54 41 54 45 94 8c 03 53 45 54 94 8c 04 44 41 54 41 94 43 07 72 65 6d 6f 76 65 64 94 75 2e'.replace(
        / /g,
        '',
      ),
    );
  });

  test('latency and status are pickled as ints even when given as non-integral numbers', () => {
    const frames = encodeUpdateClientsState([
      { id: 'alice', admin: true, latencyMs: 1.4, status: 2, metadata: new PyDict() },
    ]);
    const data = (decodeMessage(frames) as AnyCommand).data;
    assert.deepEqual(toView(data), { alice: { id: 'alice', admin: true, latency: 1, status: 2, metadata: {} } });
  });
});
