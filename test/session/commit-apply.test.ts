import assert from 'node:assert/strict';
import { test } from 'node:test';

import { encodePickle } from '../../src/pickle/index.js';
import { applyCommit } from '../../src/session/commit-apply.js';
import type { SessionContext } from '../../src/session/context.js';
import type { StoredNode } from '../../src/session/node-store.js';
import { hostileDeltas } from '../helpers/hostile-deltas.js';
import { nodeData, renameDelta } from './helpers.js';

/** Only what `applyCommit` reads. */
const ctx = { limits: { pickle: {}, maxPayloadFrameBytes: 1 << 20 } } as unknown as SessionContext;
const node = { uuid: 'n', dataBytes: encodePickle(nodeData('n', 'Cube')) } as unknown as StoredNode;

test('a delta the server refuses is a reason (a value) carrying the refusal code', () => {
  for (const attack of hostileDeltas()) {
    const outcome = applyCommit(ctx, node, attack.bytes);
    assert.equal(typeof outcome, 'string', attack.name);
    assert.ok((outcome as string).includes(attack.code), outcome as string);
  }
  assert.ok(applyCommit(ctx, node, renameDelta('New')) instanceof Uint8Array);
});

test('an error that is not a codec verdict (a bug) is thrown, not reported as a refusal', () => {
  assert.throws(() => applyCommit(ctx, node, null as unknown as Uint8Array), TypeError);
});
