import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { createServerLogger, formatLogLine } from '../../src/cli/server-logger.js';

const AT = new Date(2025, 0, 12, 5, 21, 9);

describe('the server log', () => {
  test('lines look like the reference server log: HH:MM:SS SERVER LEVEL(8) message', () => {
    // captures/01_main_session.server.log: "05:21:29 SERVER INFO     Listening on 24260."
    assert.equal(formatLogLine('info', 'Listening on 24260.', AT), '05:21:09 SERVER INFO     Listening on 24260.');
    assert.equal(formatLogLine('warn', 'bob kicked', AT), '05:21:09 SERVER WARNING  bob kicked');
    assert.equal(formatLogLine('debug', 'x', AT), '05:21:09 SERVER DEBUG    x');
    assert.equal(formatLogLine('error', 'x', AT), '05:21:09 SERVER ERROR    x');
  });

  test('lines below the level are dropped and a newline in a message cannot forge a second line', () => {
    const out: string[] = [];
    const logger = createServerLogger({
      level: 'WARNING',
      file: null,
      stream: { write: (t: string) => out.push(t) },
      now: () => AT,
    });
    logger.info('hidden');
    logger.warn('evil\n05:21:09 SERVER INFO     admin logged in.');
    assert.deepEqual(out, ['05:21:09 SERVER WARNING  evil 05:21:09 SERVER INFO     admin logged in.\n']);
    assert.equal(logger.enabled('info'), false);
    assert.equal(logger.enabled('error'), true);
  });

  test('with a log file every line is also appended to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mus-log-'));
    try {
      const file = join(dir, 'server.log');
      const logger = createServerLogger({ level: 'INFO', file, stream: { write: () => true }, now: () => AT });
      logger.info('one');
      logger.child({ subsystem: 'net' }).error('two');
      await logger.close();
      assert.equal(readFileSync(file, 'utf8'), '05:21:09 SERVER INFO     one\n05:21:09 SERVER ERROR    two\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
