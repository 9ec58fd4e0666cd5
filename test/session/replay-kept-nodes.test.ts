/**
 * A replay keeps the nodes its Commits change decoded and encodes each once at the end
 * (decoded-nodes.ts). It must give exactly what applying every Commit one at a time gives (the
 * node bytes clients were sent, their dependency lists, what is refused, the change count): a
 * long scripted journal — runs of Commits on a few nodes, Nodes replacing data, Deletes and
 * re-creations, Commits that do not apply — is replayed by the session and by a reference that
 * applies each Commit to the node's bytes with `applyCommit` (the live Commit's function: decode,
 * apply, encode), and the results compared.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { encodePickle, type PyValue } from '../../src/pickle/index.js';
import { strDict } from '../../src/protocol/index.js';
import { applyCommit } from '../../src/session/commit-apply.js';
import type { SessionContext } from '../../src/session/context.js';
import {
  type Effect,
  type Mutation,
  resolveSessionLimits,
  Session,
  type SessionOptions,
} from '../../src/session/index.js';
import type { StoredNode } from '../../src/session/node-store.js';

const UUIDS = ['n-0', 'n-1', 'n-2', 'n-3', 'n-4'];

/** xorshift32: the same journal on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function nodeMutation(uuid: string, name: string, deps: string[] = []): Mutation {
  const data = strDict([
    ['type_id', 'Object'],
    ['uuid', uuid],
    ['name', name],
    ['location', [0.0, 0.0, 0.0]],
    [
      'matrix',
      [
        [1.0, 0.0],
        [0.0, 1.0],
      ],
    ],
    ['blob', ''],
    ['tags', ['a']],
  ]);
  return {
    type: 'node',
    uuid,
    owner: 'COMMON',
    deps,
    depsBytes: encodePickle(deps),
    dataBytes: encodePickle(data),
  };
}

function commit(uuid: string, delta: [string, [string, PyValue][]][], deps: string[] = []): Mutation {
  const deltaBytes = encodePickle(
    strDict(delta.map(([kind, entries]) => [kind, strDict(entries)] as [string, PyValue])),
  );
  return { type: 'commit', uuid, deps, depsBytes: encodePickle(deps), deltaBytes };
}

const changed = (path: string, v: PyValue): [string, PyValue] => [path, strDict([['new_value', v]])];

/** A journal of `n` records: mostly runs of Commits, with the other changes a replay meets. */
function journal(n: number, seed: number): Mutation[] {
  const next = rng(seed);
  const out: Mutation[] = UUIDS.map((u) => nodeMutation(u, `Object.${u}`));
  const pick = (): string => UUIDS[Math.floor(next() * UUIDS.length)];
  // A Commit carries the node's dependency list, which may change with it.
  const deps = (): string[] => (next() < 0.5 ? [pick()] : []);
  while (out.length < n) {
    const r = next();
    const uuid = pick();
    if (r < 0.03) out.push(nodeMutation(uuid, `Replaced.${out.length}`, [pick()]));
    else if (r < 0.05) {
      out.push({ type: 'delete', uuids: [uuid] });
      out.push(nodeMutation(uuid, `Again.${out.length}`));
    } else if (r < 0.08) {
      // Does not apply: a key the node does not have (the strict applier refuses it whole).
      out.push(commit(uuid, [['values_changed', [changed("root['missing']", 1.0)]]]));
    } else {
      const run = 1 + Math.floor(next() * 12);
      for (let i = 0; i < run; i++) {
        const v = Math.round(next() * 1e6) / 1e3;
        const kind = next();
        if (kind < 0.6) {
          out.push(
            commit(
              uuid,
              [
                [
                  'values_changed',
                  [
                    changed("root['location'][0]", v),
                    changed("root['matrix'][1][0]", v / 2),
                    changed("root['name']", `N${v}`),
                  ],
                ],
              ],
              deps(),
            ),
          );
        } else if (kind < 0.8) {
          out.push(commit(uuid, [['iterable_item_added', [[`root['tags'][1]`, `t${v}`]]]], [pick()]));
          out.push(commit(uuid, [['iterable_item_removed', [[`root['tags'][1]`, `t${v}`]]]], deps()));
        } else {
          out.push(commit(uuid, [['values_changed', [changed("root['blob']", 'x'.repeat(Math.floor(next() * 300)))]]]));
        }
      }
    }
  }
  return out;
}

interface Outcome {
  nodes: { uuid: string; deps: string; data: string }[];
  errors: string[];
  changes: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function replay(records: readonly Mutation[], options: SessionOptions): Outcome {
  const session = new Session(options);
  const effects: Effect[] = [];
  for (const m of records) effects.push(...session.applyMutation(m));
  effects.push(...session.settleReplay());
  const image = session.exportImage();
  return {
    nodes: image.nodes.map((x) => ({ uuid: x.uuid, deps: hex(x.depsBytes), data: hex(x.dataBytes) })),
    errors: effects.flatMap((e) => (e.type === 'log' && e.level === 'error' ? [e.message] : [])),
    changes: session.changeCounter,
  };
}

/** The same records applied one at a time to bytes: Node, Delete and Commit as node-store.ts and mutation.ts do them. */
function reference(records: readonly Mutation[], options: SessionOptions): Outcome {
  const ctx = { limits: resolveSessionLimits(options.limits) } as unknown as SessionContext;
  const nodes = new Map<string, StoredNode>();
  const errors: string[] = [];
  let changes = 0;
  for (const m of records) {
    if (m.type === 'node') {
      const n = nodes.get(m.uuid);
      if (n === undefined) nodes.set(m.uuid, { ...m, deps: m.deps === null ? null : [...m.deps] });
      else
        Object.assign(n, {
          deps: m.deps === null ? null : [...m.deps],
          depsBytes: m.depsBytes,
          dataBytes: m.dataBytes,
        });
    } else if (m.type === 'delete') {
      for (const id of m.uuids) {
        if (!nodes.delete(id)) continue;
        for (const n of nodes.values()) {
          const at = n.deps?.indexOf(id) ?? -1;
          if (at < 0 || n.deps === null) continue;
          n.deps = n.deps.filter((_, i) => i !== at);
          n.depsBytes = undefined;
        }
      }
    } else if (m.type === 'commit') {
      const n = nodes.get(m.uuid);
      assert.ok(n !== undefined);
      const result = applyCommit(ctx, n, m.deltaBytes, false);
      if (typeof result === 'string') {
        errors.push(`Journal record not applied: commit for ${m.uuid}: ${result}`);
        continue;
      }
      Object.assign(n, { dataBytes: result, deps: m.deps, depsBytes: m.depsBytes });
    }
    changes++;
  }
  return {
    nodes: [...nodes.values()].map((n) => ({
      uuid: n.uuid,
      deps: hex(n.depsBytes ?? encodePickle(n.deps === null ? null : [...n.deps])),
      data: hex(n.dataBytes),
    })),
    errors,
    changes,
  };
}

describe('replay with nodes kept decoded', () => {
  test('gives the bytes, dependencies, refusals and change count of one Commit at a time', () => {
    const records = journal(3000, 7);
    const options = { adminPassword: '' };
    const kept = replay(records, options);
    assert.ok(kept.errors.length > 5, 'the journal holds Commits that do not apply');
    assert.deepEqual(kept, reference(records, options));
  });

  test('a node left over the size bound at the end is replayed one Commit at a time, with the same refusals', () => {
    const options = { adminPassword: '', limits: { maxPayloadFrameBytes: 400 } };
    const blob = (v: string): [string, [string, PyValue][]][] => [['values_changed', [changed("root['blob']", v)]]];
    const rename = (v: string): [string, [string, PyValue][]][] => [['values_changed', [changed("root['name']", v)]]];
    const records = [
      nodeMutation('n-0', 'Cube'),
      commit('n-0', rename('A')),
      commit('n-0', blob('x'.repeat(500)), ['n-9']),
      commit('n-0', rename('B')),
    ];
    const kept = replay(records, options);
    assert.deepEqual(kept, reference(records, options));
    assert.equal(kept.errors.length, 1);
    assert.match(kept.errors[0], /commit for n-0: the result exceeds 400 bytes/);
    assert.equal(kept.changes, 3, 'the refused Commit is not counted');
  });

  test('a node over the size bound only between two Commits is checked as it ends: the state clients had', () => {
    // Live, with the bound it had then, the server accepted all three (they are in the journal);
    // a bound lowered since is applied to the node the replay leaves, not to each step.
    const options = { adminPassword: '', limits: { maxPayloadFrameBytes: 400 } };
    const records = [
      nodeMutation('n-0', 'Cube'),
      commit('n-0', [['values_changed', [changed("root['blob']", 'x'.repeat(500)), changed("root['name']", 'A')]]]),
      commit('n-0', [['values_changed', [changed("root['blob']", '')]]]),
    ];
    const kept = replay(records, options);
    assert.deepEqual(kept, reference(records, { adminPassword: '' }));
    assert.equal(kept.errors.length, 0);
  });
});
