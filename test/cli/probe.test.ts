/**
 * `probe` against nothing: a closed port or an unknown host fails at its first step, fast, with one
 * FAIL line and exit code 1 — no later step runs, and nothing reports `ok` (no false `ok logout`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { runProbe } from '../../src/cli/probe.js';
import { pickBasePort } from '../helpers/ports.js';

async function probe(host: string, port: number, timeoutMs: number): Promise<{ code: number; lines: string[] }> {
  const out: string[] = [];
  const code = await runProbe({ host, port, serverPassword: '', timeoutMs, username: 'probe-test' }, {
    write: (t: string) => out.push(t),
  } as unknown as NodeJS.WritableStream);
  return {
    code,
    lines: out
      .join('')
      .split('\n')
      .filter((l) => l !== ''),
  };
}

describe('probe against a server that is not there', () => {
  test('a closed port fails at once: one FAIL line naming the refusal, no ok line, exit 1', async () => {
    const port = await pickBasePort(); // free a moment ago: nothing listens there
    const started = performance.now();
    const { code, lines } = await probe('127.0.0.1', port, 5000);
    assert.equal(code, 1);
    assert.ok(performance.now() - started < 2500, `took ${Math.round(performance.now() - started)} ms`);
    assert.deepEqual(
      lines.filter((l) => /^\s+(ok|FAIL)/.test(l)),
      [`  FAIL  server info: cannot connect to 127.0.0.1:${port}: connection refused (no server listens there)`],
    );
    assert.equal(lines.at(-1), 'result: FAILED (1 step(s))');
  });

  test('an unknown host fails within the timeout, with one FAIL line and no ok line', async () => {
    const started = performance.now();
    const { code, lines } = await probe('no-such-host.invalid', 5555, 3000);
    assert.equal(code, 1);
    assert.ok(performance.now() - started < 4000);
    const steps = lines.filter((l) => /^\s+(ok|FAIL)/.test(l));
    assert.equal(steps.length, 1);
    assert.match(
      steps[0],
      /^ {2}FAIL {2}server info: (cannot connect to no-such-host\.invalid:5555: unknown host|no TCP connection)/,
    );
  });
});
