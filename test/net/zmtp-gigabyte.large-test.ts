/**
 * A 1 GiB frame both ways between Debian's python3-zmq DEALER (libzmq 4.3) and our ROUTER, with
 * the frame budget raised to allow it: what python sends arrives intact (SHA-256 of the whole
 * body; the pattern stamps each 64 KiB block with its index, so a misplaced chunk changes it),
 * received into one allocation of exactly its size; then the same Buffer is sent back by
 * reference, and python's SHA-256 of what it got matches what it sent.
 *
 * Not part of `npm test`: moving 2 GiB through loopback takes 10–60 s on the shared 2-core
 * machine, over the ~30 s a test file may take there. `npm run test:large` runs it (and .ci/run
 * runs that). Memory is bounded: one 1 GiB body here, at most two in python.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';

import { testToolPath } from '../helpers/python.js';
import { startOurRouter, type OurRouter } from './zmtp-router-helpers.js';

const PYTHON = '/usr/bin/python3';
const DEALER_SCRIPT = testToolPath('zmtp_dealer.py');
const GIB = 1024 * 1024 * 1024;
/** The whole exchange, both directions and both hashes, must end within this. */
const DEADLINE_MS = 180_000;

let router: OurRouter | undefined;
after(async () => {
  await router?.close();
});

describe('a 1 GiB frame between python3-zmq and our ROUTER', () => {
  test(
    'arrives whole in one allocation, and the same Buffer goes back intact',
    { timeout: DEADLINE_MS + 10_000 },
    async () => {
      let received: { length: number; ownAllocation: boolean; sha256: string; rssGrowth: number } | undefined;
      const rssBefore = process.memoryUsage().rss;
      router = await startOurRouter({
        onMessage: (id, frames) => {
          const big = frames[1];
          received = {
            length: big.length,
            ownAllocation: big.byteOffset === 0 && big.buffer.byteLength === big.length,
            sha256: createHash('sha256').update(big).digest('hex'),
            rssGrowth: process.memoryUsage().rss - rssBefore,
          };
          const to = Buffer.from(id, 'hex');
          assert.equal(router?.router.send([to, Buffer.from('sha256'), Buffer.from(received.sha256)]), 'sent');
          assert.equal(router?.router.send([to, Buffer.from('gig'), big]), 'sent');
        },
      });
      const child = spawn(PYTHON, [DEALER_SCRIPT, 'gigecho', router.endpoint, 'ab'.repeat(16), String(GIB)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const killer = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
      clearTimeout(killer);
      assert.equal(signal, null, `zmtp_dealer.py did not finish within ${DEADLINE_MS} ms`);
      assert.equal(code, 0, `zmtp_dealer.py failed: ${err}`);
      const r = JSON.parse(out) as Record<string, unknown>;
      assert.ok(received !== undefined, 'the router got the message');
      assert.equal(received.length, GIB);
      assert.ok(received.ownAllocation, 'the body is one allocation of exactly its size');
      // One copy in memory: the body itself, not a second buffer assembled from chunks.
      assert.ok(received.rssGrowth < GIB + 256 * 1024 * 1024, `RSS grew ${received.rssGrowth} bytes`);
      assert.equal(received.sha256, r.sent_sha256, 'what arrived is what python sent');
      assert.deepEqual(r.router_sha256, ['sha256', r.sent_sha256]);
      assert.equal(r.back_frames, 2);
      assert.equal(r.back_first, 'gig');
      assert.equal(r.back_length, GIB);
      assert.equal(r.back_sha256, r.sent_sha256, 'what came back is what python sent');
      process.stderr.write(
        `# 1 GiB: python -> router ${String(r.to_router_s)} s, router -> python ${String(r.back_s)} s\n`,
      );
    },
  );
});
