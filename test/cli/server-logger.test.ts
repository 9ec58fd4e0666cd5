import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { createServerLogger, formatLocalTime, formatLogLine } from '../../src/cli/server-logger.js';

const AT = new Date(Date.UTC(2025, 0, 12, 5, 21, 9));

describe('the server log', () => {
  // Local time with its offset: fixed zones (one with a half-hour offset, one west of UTC) so the
  // expected text does not depend on the machine's zone. Node applies a TZ change at once.
  const zone = (tz: string, run: () => void): void => {
    const before = process.env.TZ;
    process.env.TZ = tz;
    try {
      run();
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  };

  test('text lines are the reference log with the date, milliseconds and UTC offset: DATE TIME+OFF SERVER LEVEL(8) message', () => {
    // captures/01_main_session.server.log: "05:21:29 SERVER INFO     Listening on 24260."
    zone('Asia/Kolkata', () => {
      const at = new Date(Date.UTC(2025, 0, 11, 23, 51, 9, 7));
      assert.equal(
        formatLogLine('info', 'Listening on 24260.', at),
        '2025-01-12 05:21:09.007+05:30 SERVER INFO     Listening on 24260.',
      );
      assert.equal(formatLogLine('warn', 'bob kicked', at), '2025-01-12 05:21:09.007+05:30 SERVER WARNING  bob kicked');
      assert.equal(formatLogLine('debug', 'x', at), '2025-01-12 05:21:09.007+05:30 SERVER DEBUG    x');
      assert.equal(formatLogLine('error', 'x', at), '2025-01-12 05:21:09.007+05:30 SERVER ERROR    x');
    });
    zone('America/St_Johns', () => {
      const at = new Date(Date.UTC(2025, 0, 12, 8, 51, 9, 0));
      assert.equal(formatLogLine('info', 'x', at), '2025-01-12 05:21:09.000-03:30 SERVER INFO     x');
    });
    zone('UTC', () => {
      assert.equal(formatLocalTime(new Date(Date.UTC(2025, 11, 31, 23, 59, 59, 999))), '2025-12-31 23:59:59.999+00:00');
    });
  });

  test('a child logger keeps its subsystem (SERVER.net, SERVER.store.journal) and fields follow the message', () => {
    const out: string[] = [];
    zone('UTC', () => {
      const logger = createServerLogger({
        level: 'DEBUG',
        file: null,
        stream: { write: (t: string) => out.push(t) },
        now: () => AT,
      });
      logger.child({ subsystem: 'net' }).info('alice logged in.');
      const store = logger.child({ subsystem: 'store' });
      store.info('Session saved to disk (reason: auto-save)', { reason: 'auto-save', nodes: 3, backup: null });
      store.child({ subsystem: 'journal' }).warn('odd', { note: 'two words', ok: true });
    });
    assert.deepEqual(out, [
      '2025-01-12 05:21:09.000+00:00 SERVER.net INFO     alice logged in.\n',
      '2025-01-12 05:21:09.000+00:00 SERVER.store INFO     Session saved to disk (reason: auto-save) reason=auto-save nodes=3 backup=null\n',
      '2025-01-12 05:21:09.000+00:00 SERVER.store.journal WARNING  odd note="two words" ok=true\n',
    ]);
  });

  test('json lines are one object each: time (UTC), level, subsystem, msg, fields', () => {
    const out: string[] = [];
    const logger = createServerLogger({
      level: 'INFO',
      format: 'json',
      file: null,
      stream: { write: (t: string) => out.push(t) },
      now: () => AT,
    });
    logger.info('Listening on 5555.');
    logger.child({ subsystem: 'store' }).warn('evil\nSERVER INFO forged', { file: 'a b' });
    logger.debug('hidden');
    assert.equal(out.length, 2);
    assert.ok(out.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
    assert.deepEqual(JSON.parse(out[0]), {
      time: AT.toISOString(),
      level: 'INFO',
      subsystem: 'server',
      msg: 'Listening on 5555.',
      fields: {},
    });
    assert.deepEqual(JSON.parse(out[1]), {
      time: AT.toISOString(),
      level: 'WARNING',
      subsystem: 'store',
      msg: 'evil\nSERVER INFO forged',
      fields: { file: 'a b' },
    });
  });

  test('lines below the level are dropped and a newline in a message cannot forge a second line', () => {
    const out: string[] = [];
    zone('UTC', () => {
      const logger = createServerLogger({
        level: 'WARNING',
        file: null,
        stream: { write: (t: string) => out.push(t) },
        now: () => AT,
      });
      logger.info('hidden');
      logger.warn('evil\n05:21:09 SERVER INFO     admin logged in.', { 'k\nx': 'v\ny' });
      assert.equal(logger.enabled('info'), false);
      assert.equal(logger.enabled('error'), true);
    });
    assert.deepEqual(out, [
      '2025-01-12 05:21:09.000+00:00 SERVER WARNING  evil 05:21:09 SERVER INFO     admin logged in. k x="v\\ny"\n',
    ]);
  });

  test('with a log file every line is also appended to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mus-log-'));
    try {
      const file = join(dir, 'server.log');
      const before = process.env.TZ;
      process.env.TZ = 'UTC';
      const logger = createServerLogger({ level: 'INFO', file, stream: { write: () => true }, now: () => AT });
      logger.info('one');
      logger.child({ subsystem: 'net' }).error('two');
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
      await logger.close();
      assert.equal(
        readFileSync(file, 'utf8'),
        '2025-01-12 05:21:09.000+00:00 SERVER INFO     one\n2025-01-12 05:21:09.000+00:00 SERVER.net ERROR    two\n',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
