import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Mailbox } from '../../src/client/mailbox.js';
import { NetError } from '../../src/net/index.js';

const isNetError = (code: string) => (err: unknown) => err instanceof NetError && err.code === code;

describe('Mailbox', () => {
  test('take returns an event that arrived before it was asked for, and removes it', async () => {
    const box = new Mailbox<number>();
    box.push(1);
    box.push(2);
    assert.equal(await box.take((n) => n === 2, 1000), 2);
    assert.deepEqual(box.peek(), [1]);
  });

  test('take waits for the next matching event; events nobody waits for are stored in order', async () => {
    const box = new Mailbox<number>();
    const waiting = box.take((n) => n > 10, 1000);
    box.push(3);
    box.push(11);
    assert.equal(await waiting, 11);
    assert.deepEqual(box.peek(), [3]);
  });

  test('a take with no match rejects with NET_TIMEOUT at its deadline', async () => {
    const box = new Mailbox<number>();
    await assert.rejects(
      box.take(() => false, 10, 'nothing'),
      isNetError('NET_TIMEOUT'),
    );
  });

  test('close rejects pending takes with NET_CLOSED but stored events can still be taken', async () => {
    const box = new Mailbox<string>();
    box.push('kept');
    const pending = box.take((s) => s === 'never', 10_000);
    box.close('bye');
    await assert.rejects(pending, isNetError('NET_CLOSED'));
    assert.equal(await box.take((s) => s === 'kept', 10), 'kept');
    await assert.rejects(
      box.take(() => true, 10),
      isNetError('NET_CLOSED'),
    );
  });

  test('past its capacity the oldest stored events are discarded and counted', () => {
    const box = new Mailbox<number>(3);
    for (let i = 0; i < 5; i++) box.push(i);
    assert.deepEqual(box.peek(), [2, 3, 4]);
    assert.equal(box.discarded, 2);
  });
});
