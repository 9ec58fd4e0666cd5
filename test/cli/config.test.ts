/**
 * Configuration precedence (flags > environment > `.env` > defaults), validation and the `.env`
 * reader. Every input is passed explicitly: nothing here reads or changes `process.env`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

import {
  ConfigError,
  DEFAULT_CONFIG,
  OPTION_SPECS,
  resolveConfig,
  usesDefaultAdminPassword,
} from '../../src/cli/config.js';
import { parseDotenv } from '../../src/cli/dotenv.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.code;
    throw err;
  }
  return undefined;
};

describe('resolveConfig', () => {
  test('with nothing given every value is the default and says so', () => {
    const { config, sources } = resolveConfig({});
    assert.deepEqual(config, DEFAULT_CONFIG);
    assert.ok(Object.values(sources).every((s) => s === 'default'));
    assert.ok(Object.isFrozen(config));
    assert.ok(usesDefaultAdminPassword(config));
  });

  test('a flag beats the environment, which beats .env, which beats the default', () => {
    const dotenvText = 'PORT=6000\nTIMEOUT=3000\nLOG_LEVEL=DEBUG\nDATA_DIR=/from/dotenv\n';
    const env = { PORT: '7000', TIMEOUT: '4000' };
    const { config, sources } = resolveConfig({ argv: ['--port', '8000'], env, dotenvText });
    assert.equal(config.port, 8000);
    assert.equal(sources.port, 'flag');
    assert.equal(config.timeoutMs, 4000);
    assert.equal(sources.timeoutMs, 'env');
    assert.equal(config.logLevel, 'DEBUG');
    assert.equal(sources.logLevel, '.env');
    assert.equal(config.dataDir, '/from/dotenv');
    assert.equal(config.host, '*');
    assert.equal(sources.host, 'default');
  });

  test('the reference short flags and the --flag=value form are accepted', () => {
    const { config } = resolveConfig({
      argv: [
        '-p',
        '5600',
        '-apwd',
        'pw1',
        '-spwd',
        'pw2',
        '-t',
        '2500',
        '-l',
        'warning',
        '-lf',
        'server.log',
        '--host=127.0.0.1',
        '--data-dir=/d',
      ],
    });
    assert.equal(config.port, 5600);
    assert.equal(config.adminPassword, 'pw1');
    assert.equal(config.serverPassword, 'pw2');
    assert.equal(config.timeoutMs, 2500);
    assert.equal(config.logLevel, 'WARNING');
    assert.equal(config.logFile, 'server.log');
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, '/d');
    assert.equal(usesDefaultAdminPassword(config), false);
  });

  test('an empty server password is a value (public) and beats a password from .env', () => {
    const { config, sources } = resolveConfig({ argv: ['-spwd', ''], dotenvText: 'SERVER_PASSWORD=secret\n' });
    assert.equal(config.serverPassword, '');
    assert.equal(sources.serverPassword, 'flag');
    assert.equal(
      resolveConfig({ env: { SERVER_PASSWORD: '' }, dotenvText: 'SERVER_PASSWORD=x' }).config.serverPassword,
      '',
    );
  });

  test('an empty PORT in the environment counts as unset (docker-compose passes empty strings)', () => {
    const { config, sources } = resolveConfig({ env: { PORT: '' }, dotenvText: 'PORT=6100' });
    assert.equal(config.port, 6100);
    assert.equal(sources.port, '.env');
  });

  test('an empty LOG_FILE means no log file', () => {
    assert.equal(resolveConfig({ env: { LOG_FILE: '' }, dotenvText: 'LOG_FILE=x.log' }).config.logFile, null);
  });

  test('bad values are refused with a message naming the flag or variable', () => {
    const cases: [Parameters<typeof resolveConfig>[0], RegExp][] = [
      [{ argv: ['--port', '70000'] }, /--port: the port must be an integer from 1 to 65533, got '70000'/],
      [{ argv: ['-p', '65534'] }, /-p: the port/],
      [{ env: { PORT: 'http' } }, /environment variable PORT: the port/],
      [{ dotenvText: 'TIMEOUT=soon' }, /TIMEOUT in \.env: the timeout \(ms\)/],
      [{ argv: ['-t', '-5'] }, /-t: the timeout/],
      [{ argv: ['-l', 'LOUD'] }, /-l: log level must be DEBUG, INFO, WARNING or ERROR, got 'LOUD'/],
      [{ argv: ['--host', 'a b'] }, /--host: host must be/],
    ];
    for (const [inputs, message] of cases) {
      assert.throws(
        () => resolveConfig(inputs),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.code, 'CONFIG_INVALID');
          assert.match(err.message, message);
          return true;
        },
      );
    }
  });

  test('an unknown flag and a flag without a value are refused', () => {
    assert.equal(
      codeOf(() => resolveConfig({ argv: ['--prot', '5555'] })),
      'CONFIG_UNKNOWN_FLAG',
    );
    assert.equal(
      codeOf(() => resolveConfig({ argv: ['--port'] })),
      'CONFIG_MISSING_VALUE',
    );
    assert.equal(
      codeOf(() => resolveConfig({ argv: ['-spwd', '-p', '5555'] })),
      'CONFIG_MISSING_VALUE',
    );
    assert.equal(
      codeOf(() => resolveConfig({ argv: ['--port='] })),
      'CONFIG_MISSING_VALUE',
    );
  });

  test('every size limit can be set by flag, environment or .env, and out-of-range values are refused', () => {
    const { config, sources } = resolveConfig({
      argv: ['--max-nodes', '5000', '--max-frame-bytes=2097152'],
      env: { MAX_CLIENTS: '12', MAX_PICKLE_DEPTH: '200' },
      dotenvText: 'MAX_METADATA_BYTES=65536\nHEARTBEAT_GRACE=5000\nMAX_FRAMES_PER_MESSAGE=8\nMAX_COMMAND_BYTES=4096\n',
    });
    assert.equal(config.maxNodes, 5000);
    assert.equal(config.maxFrameBytes, 2097152);
    assert.equal(config.maxClients, 12);
    assert.equal(config.maxPickleDepth, 200);
    assert.equal(config.maxMetadataBytes, 65536);
    assert.equal(config.heartbeatGraceMs, 5000);
    assert.equal(config.maxFramesPerMessage, 8);
    assert.equal(config.maxCommandBytes, 4096);
    assert.equal(sources.maxNodes, 'flag');
    assert.equal(sources.maxClients, 'env');
    assert.equal(sources.maxMetadataBytes, '.env');
    assert.equal(
      codeOf(() => resolveConfig({ env: { MAX_NODES: '0' } })),
      'CONFIG_INVALID',
    );
    assert.equal(
      codeOf(() => resolveConfig({ argv: ['--max-frames-per-message', '4'] })),
      'CONFIG_INVALID',
    );
    assert.equal(
      codeOf(() => resolveConfig({ env: { MAX_PICKLE_DEPTH: 'deep' } })),
      'CONFIG_INVALID',
    );
  });

  test('unrelated environment and .env keys are ignored', () => {
    const { config } = resolveConfig({ env: { HOME: '/root', BACKUP_CRON: '60' }, dotenvText: 'MAX_USERS=3\n' });
    assert.deepEqual(config, DEFAULT_CONFIG);
  });

  test('persistence options: SAVE_INTERVAL, MAX_BACKUPS and JOURNAL_FSYNC with their defaults and bounds', () => {
    assert.equal(DEFAULT_CONFIG.saveIntervalS, 120);
    assert.equal(DEFAULT_CONFIG.maxBackups, 10);
    assert.equal(DEFAULT_CONFIG.journalFsync, 100);
    const { config, sources } = resolveConfig({
      argv: ['--save-interval', '30'],
      env: { MAX_BACKUPS: '0' },
      dotenvText: 'JOURNAL_FSYNC=always\n',
    });
    assert.equal(config.saveIntervalS, 30);
    assert.equal(sources.saveIntervalS, 'flag');
    assert.equal(config.maxBackups, 0);
    assert.equal(config.journalFsync, 'always');
    assert.equal(sources.journalFsync, '.env');
    assert.equal(resolveConfig({ argv: ['--journal-fsync', 'OFF'] }).config.journalFsync, 'off');
    assert.equal(resolveConfig({ argv: ['--journal-fsync=250'] }).config.journalFsync, 250);
    assert.equal(resolveConfig({ env: { SAVE_INTERVAL: '0' } }).config.saveIntervalS, 0, '0 turns auto-save off');
    for (const bad of [
      { JOURNAL_FSYNC: 'sometimes' },
      { JOURNAL_FSYNC: '0' },
      { SAVE_INTERVAL: '-1' },
      { MAX_BACKUPS: 'ten' },
    ]) {
      assert.equal(
        codeOf(() => resolveConfig({ env: bad })),
        'CONFIG_INVALID',
        JSON.stringify(bad),
      );
    }
    assert.throws(
      () => resolveConfig({ argv: ['--journal-fsync', 'fast'] }),
      /--journal-fsync: the journal fsync policy/,
    );
  });

  test('.env.example documents every key the configuration reads', () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
    const example = readFileSync(resolve(root, '.env.example'), 'utf8');
    for (const spec of OPTION_SPECS) assert.match(example, new RegExp(`^#? ?${spec.env}=`, 'm'), spec.env);
    // And it is itself a valid .env file.
    parseDotenv(example);
  });

  test('the defaults README and .env.example document are the ones the code uses', () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
    const example = readFileSync(resolve(root, '.env.example'), 'utf8');
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    let checked = 0;
    for (const spec of OPTION_SPECS) {
      const value = DEFAULT_CONFIG[spec.key];
      if (typeof value !== 'number' && typeof value !== 'string') continue;
      const shown = new RegExp(`^#? ?${spec.env}=(.*)$`, 'm').exec(example)?.[1];
      // Read back through the option's own parser, so a default written as the operator would
      // write it ('7d', '5GiB') is compared by meaning.
      const meaning = (text: string): unknown =>
        (resolveConfig({ env: { [spec.env]: text } }).config as unknown as Record<string, unknown>)[spec.key];
      if (shown !== undefined && shown !== '') {
        assert.equal(meaning(shown), value, `.env.example ${spec.env}=${shown}`);
        checked++;
      }
      const row = readme.split('\n').find((l) => l.startsWith('|') && l.includes(`| \`${spec.env}\` |`));
      const cell = row?.split('|')[3]?.trim();
      if (cell !== undefined && cell.startsWith('`')) {
        assert.equal(meaning(cell.split('`')[1]), value, `README ${spec.env}`);
        checked++;
      }
    }
    assert.ok(checked >= 40, `only ${checked} documented defaults found`);
  });
});

describe('parseDotenv', () => {
  test('reads comments, export prefixes, quotes and inline comments', () => {
    const env = parseDotenv(
      [
        '# comment',
        '',
        'export PORT=6000',
        "ADMIN_PASSWORD='s3cret #not a comment'",
        'SERVER_PASSWORD="line\\nbreak \\"quoted\\""',
        'LOG_LEVEL=DEBUG   # inline comment',
        'EMPTY=',
        'HOST = 127.0.0.1',
      ].join('\r\n'),
    );
    assert.equal(env.get('PORT'), '6000');
    assert.equal(env.get('ADMIN_PASSWORD'), 's3cret #not a comment');
    assert.equal(env.get('SERVER_PASSWORD'), 'line\nbreak "quoted"');
    assert.equal(env.get('LOG_LEVEL'), 'DEBUG');
    assert.equal(env.get('EMPTY'), '');
    assert.equal(env.get('HOST'), '127.0.0.1');
  });

  test('a line without = and an unterminated quote are refused naming the line', () => {
    assert.throws(
      () => parseDotenv('PORT=1\nnonsense\n'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.code, 'CONFIG_DOTENV');
        assert.match(err.message, /line 2/);
        return true;
      },
    );
    assert.equal(
      codeOf(() => parseDotenv('A="open')),
      'CONFIG_DOTENV',
    );
  });
});
