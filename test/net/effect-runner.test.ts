/**
 * Journal before relay (DESIGN §4, STYLE.md §8): the persist hook sees each mutation before any
 * effect after it runs; a durability promise holds later effects (of later events too) in order
 * while their persists are still appended; a failed persist withholds the relays of its change.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { EffectRunner } from '../../src/net/effect-runner.js';
import type { Effect, Mutation } from '../../src/session/index.js';

const persist = (name: string): Effect => ({ type: 'persist', mutation: { type: 'user-leave', name } });
const send = (tag: string): Effect => ({ type: 'send', channel: 'data', to: [tag], frames: [] });
const log = (message: string): Effect => ({ type: 'log', level: 'info', message });

/** What happened, in order: `persist:NAME`, `send:TAG`, `log:TEXT`. */
function recorder(): { trail: string[]; execute: (e: Effect) => void; note: (m: Mutation) => void } {
  const trail: string[] = [];
  return {
    trail,
    execute: (e) => {
      if (e.type === 'send') trail.push(`send:${e.to[0]}`);
      else if (e.type === 'log') trail.push(`log:${e.message}`);
      else trail.push(e.type);
    },
    note: (m) => {
      trail.push(`persist:${(m as { name: string }).name}`);
    },
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves once `check()` holds, checking after each turn of the event loop; fails after `ms`. */
async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setImmediate(r));
  }
}

describe('EffectRunner', () => {
  test('without a hook persist effects are ignored and the rest runs in order', () => {
    const r = recorder();
    const runner = new EffectRunner({ execute: r.execute });
    runner.run([persist('a'), send('x'), log('l')]);
    assert.deepEqual(r.trail, ['send:x', 'log:l']);
  });

  test('a synchronous hook sees each mutation before the effects after it, with nothing held', () => {
    const r = recorder();
    const runner = new EffectRunner({ execute: r.execute, persist: r.note });
    runner.run([persist('a'), send('x'), persist('b'), send('y')]);
    assert.deepEqual(r.trail, ['persist:a', 'send:x', 'persist:b', 'send:y']);
    assert.equal(runner.stats().held, 0);
  });

  test('a durability promise holds every later effect in order while later persists are appended', async () => {
    const r = recorder();
    const pending: ReturnType<typeof deferred>[] = [];
    const runner = new EffectRunner({
      execute: r.execute,
      persist: (m) => {
        r.note(m);
        const d = deferred();
        pending.push(d);
        return d.promise;
      },
    });
    runner.run([persist('a'), send('x')]);
    runner.run([log('tick')]);
    runner.run([persist('b'), send('y')]);
    assert.deepEqual(r.trail, ['persist:a', 'persist:b'], 'both appended, nothing relayed yet');
    assert.equal(runner.stats().held, 3);
    pending[0].resolve();
    await until(() => r.trail.length === 4);
    assert.deepEqual(r.trail, ['persist:a', 'persist:b', 'send:x', 'log:tick'], 'y still waits for b');
    pending[1].resolve();
    await until(() => r.trail.length === 5);
    assert.deepEqual(r.trail.slice(4), ['send:y']);
    runner.run([send('z')]);
    assert.deepEqual(r.trail.slice(5), ['send:z'], 'nothing pending: runs at once');
  });

  test('a rejected persist withholds the sends of its own event only', async () => {
    const r = recorder();
    const errors: unknown[] = [];
    const d = deferred();
    const runner = new EffectRunner({
      execute: r.execute,
      persist: (m) => {
        r.note(m);
        return (m as { name: string }).name === 'bad' ? d.promise : Promise.resolve();
      },
      onPersistError: (e) => errors.push(e),
    });
    runner.run([persist('bad'), send('x'), log('why')]);
    runner.run([persist('good'), send('y')]);
    d.reject(new Error('disk gone'));
    await until(() => r.trail.includes('send:y'));
    assert.deepEqual(r.trail, ['persist:bad', 'persist:good', 'log:why', 'send:y']);
    assert.equal(runner.stats().withheld, 1);
    assert.equal(runner.stats().persistFailures, 1);
    assert.equal((errors[0] as Error).message, 'disk gone');
  });

  test('a hook that throws withholds the sends after it at once', () => {
    const r = recorder();
    const runner = new EffectRunner({
      execute: r.execute,
      persist: () => {
        throw new Error('journal failed');
      },
    });
    runner.run([send('before'), persist('a'), send('x'), log('l')]);
    runner.run([send('next-event')]);
    assert.deepEqual(r.trail, ['send:before', 'log:l', 'send:next-event']);
    assert.equal(runner.stats().withheld, 1);
  });

  test('an effect that throws on the direct path is reported and the effects after it still run', () => {
    const r = recorder();
    const errors: string[] = [];
    const runner = new EffectRunner({
      execute: (e) => {
        if (e.type === 'send' && e.to[0] === 'boom') throw new Error('socket gone');
        r.execute(e);
      },
      persist: r.note,
      onExecuteError: (err) => errors.push((err as Error).message),
    });
    runner.run([persist('a'), send('boom'), send('b'), { type: 'forget', client: 'x' }, log('after')]);
    assert.deepEqual(r.trail, ['persist:a', 'send:b', 'forget', 'log:after']);
    assert.deepEqual(errors, ['socket gone']);
  });

  test('close drops what is held', async () => {
    const r = recorder();
    const d = deferred();
    const runner = new EffectRunner({ execute: r.execute, persist: () => d.promise });
    runner.run([persist('a'), send('x')]);
    runner.close();
    d.resolve();
    await d.promise;
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(r.trail, []);
    runner.run([send('after-close')]);
    assert.deepEqual(r.trail, []);
  });
});
