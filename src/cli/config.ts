/**
 * The server's configuration, resolved once at the edge (STYLE.md §11): command-line flags, then
 * environment variables, then a `.env` file in the working directory, then defaults — first one
 * found wins — merged into one frozen, typed `Config`. Pure: the caller passes argv, env and the
 * `.env` text, so tests never touch `process.env`. Flags keep the reference CLI's spellings
 * (`-p`, `-apwd`, `-spwd`, `-t`, `-l`, `-lf`).
 */
import { DEFAULT_SEND_QUEUE_LIMITS, DEFAULT_TRANSPORT_LIMITS } from '../net/index.js';
import { DEFAULT_PICKLE_LIMITS } from '../pickle/index.js';
import { DEFAULT_PROTOCOL_LIMITS } from '../protocol/index.js';
import { DEFAULT_SESSION_LIMITS, DEFAULT_HEARTBEAT_GRACE_MS, DEFAULT_TIMEOUT_MS } from '../session/index.js';
import {
  DEFAULT_MAX_BACKUPS,
  DEFAULT_DISK_FREE_WARN_BYTES,
  DEFAULT_HISTORY_CHECKPOINT_INTERVAL_S,
  DEFAULT_HISTORY_MAX_BYTES,
  DEFAULT_HISTORY_RETENTION_S,
  DEFAULT_JOURNAL_RESERVE_BYTES,
  DEFAULT_JOURNAL_FSYNC,
  parseJournalFsync,
  type JournalFsyncPolicy,
} from '../store/index.js';
import { ConfigError } from './config-error.js';
import { parseDotenv } from './dotenv.js';

export { ConfigError, type ConfigErrorCode } from './config-error.js';

/** Log levels by their Python names, as the reference prints them. */
export type LogLevelName = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

/** `text`: the reference server's lines (with date and UTC offset); `json`: one object per line for log collectors. */
export type LogFormat = 'text' | 'json';

export interface Config {
  /** `--port`/`-p`, PORT: base port P; the server also uses P+1 (data) and P+2 (heartbeat). */
  readonly port: number;
  /** `--host`, HOST: bind address; `*` = every interface, as the reference. */
  readonly host: string;
  /** `--admin-password`/`-apwd`, ADMIN_PASSWORD. Empty disables admin logins. */
  readonly adminPassword: string;
  /** `--server-password`/`-spwd`, SERVER_PASSWORD. Empty = public server. */
  readonly serverPassword: string;
  /** `--timeout`/`-t`, TIMEOUT (ms): heartbeat latency past which a client is dropped. */
  readonly timeoutMs: number;
  /** `--log-level`/`-l`, LOG_LEVEL. */
  readonly logLevel: LogLevelName;
  /** `--log-format`, LOG_FORMAT: `text` or `json` (cli/server-logger.ts describes both). */
  readonly logFormat: LogFormat;
  /** `--log-file`/`-lf`, LOG_FILE: also append log lines to this file; `null` = stderr only. */
  readonly logFile: string | null;
  /** `--data-dir`, DATA_DIR: where persistence keeps its files (snapshot, backups, journal, lock). */
  readonly dataDir: string;
  /** `--save-interval`, SAVE_INTERVAL (s): auto-save period when something changed; 0 = no auto-save. */
  readonly saveIntervalS: number;
  /** `--max-backups`, MAX_BACKUPS: snapshots kept in DATA_DIR/backups; 0 = no backups. */
  readonly maxBackups: number;
  /** `--journal-fsync`, JOURNAL_FSYNC: `always`, an interval in ms, or `off` (like redis `appendfsync`). */
  readonly journalFsync: JournalFsyncPolicy;
  /** `--journal-reserve`, JOURNAL_RESERVE (bytes): disk space held for the journal, so a full disk stops snapshots first; 0 = none. */
  readonly journalReserveBytes: number;
  /** `--disk-free-warn`, DISK_FREE_WARN (bytes): a WARN line when free space in DATA_DIR falls below this; 0 = never. */
  readonly diskFreeWarnBytes: number;
  /** `--history-retention`, HISTORY_RETENTION (s; accepts `7d`, `12h`, `30m`): how long journal history is kept; 0 = no history. */
  readonly historyRetentionS: number;
  /** `--history-max-bytes`, HISTORY_MAX_BYTES: bound on DATA_DIR/history (the oldest generations go first). */
  readonly historyMaxBytes: number;
  /** `--history-checkpoint-interval`, HISTORY_CHECKPOINT_INTERVAL (s; accepts `1h`): least time between two history checkpoints. */
  readonly historyCheckpointIntervalS: number;
  /** `--send-queue-max-messages`, SEND_QUEUE_MAX_MESSAGES: per client and socket, before it is dropped as too slow. */
  readonly sendQueueMaxMessages: number;
  /** `--send-queue-max-bytes`, SEND_QUEUE_MAX_BYTES: per client and socket, before it is dropped as too slow. */
  readonly sendQueueMaxBytes: number;
  /** `--max-frame-bytes`, MAX_FRAME_BYTES: largest node data / delta frame (one datablock); larger messages are refused. */
  readonly maxFrameBytes: number;
  /** `--max-frames-per-message`, MAX_FRAMES_PER_MESSAGE: frames in one message (the add-on sends at most 5). */
  readonly maxFramesPerMessage: number;
  /** `--max-command-bytes`, MAX_COMMAND_BYTES: data frame of a command (lock, delete, snapshot request …). */
  readonly maxCommandBytes: number;
  /** `--max-metadata-bytes`, MAX_METADATA_BYTES: one user's merged metadata (presence, chat, tasks). */
  readonly maxMetadataBytes: number;
  /** `--max-metadata-update-bytes`, MAX_METADATA_UPDATE_BYTES: the data frame of one metadata update. */
  readonly maxMetadataUpdateBytes: number;
  /** `--max-user-list-metadata-bytes`, MAX_USER_LIST_METADATA_BYTES: all logged-in users' metadata together (the user list sent every second). */
  readonly maxUserListMetadataBytes: number;
  /** `--max-pickle-containers`, MAX_PICKLE_CONTAINERS: containers in one node data or delta pickle. */
  readonly maxPickleContainers: number;
  /** `--max-command-containers`, MAX_COMMAND_CONTAINERS: containers in one command's data or dependency list. */
  readonly maxCommandContainers: number;
  /** `--max-commit-node-containers`, MAX_COMMIT_NODE_CONTAINERS: containers a node may hold for a Commit to be applied to it. */
  readonly maxCommitNodeContainers: number;
  /** `--max-nodes`, MAX_NODES: nodes in the session. */
  readonly maxNodes: number;
  /** `--max-clients`, MAX_CLIENTS: users logged in at once. */
  readonly maxClients: number;
  /** `--max-pickle-depth`, MAX_PICKLE_DEPTH: nesting depth of any pickle the server decodes. */
  readonly maxPickleDepth: number;
  /** `--heartbeat-grace`, HEARTBEAT_GRACE (ms): a logged-in client that never starts its heartbeat is dropped after this. */
  readonly heartbeatGraceMs: number;
  /** `--pre-login-max-frames`, PRE_LOGIN_MAX_FRAMES: frames in one message before the identity logged in. */
  readonly preLoginMaxFrames: number;
  /** `--pre-login-max-message-bytes`, PRE_LOGIN_MAX_MESSAGE_BYTES: bytes in one message before login. */
  readonly preLoginMaxMessageBytes: number;
  /** `--handshake-timeout`, HANDSHAKE_TIMEOUT (ms): the ZMTP greeting and READY must be done by then. */
  readonly handshakeTimeoutMs: number;
  /** `--pre-login-timeout`, PRE_LOGIN_TIMEOUT (ms): a connection whose identity has not logged in by then is closed. */
  readonly preLoginTimeoutMs: number;
  /** `--disconnect-grace`, DISCONNECT_GRACE (ms): a logged-in client whose connections all closed and did not come back by then leaves. */
  readonly disconnectGraceMs: number;
  /** `--max-connections`, MAX_CONNECTIONS: open TCP connections on the three ports together. */
  readonly maxConnections: number;
  /** `--max-connections-per-address`, MAX_CONNECTIONS_PER_ADDRESS: open connections from one IP address. */
  readonly maxConnectionsPerAddress: number;
  /** `--max-new-connections-per-second`, MAX_NEW_CONNECTIONS_PER_SECOND: per IP address (and its burst). */
  readonly maxNewConnectionsPerSecond: number;
  /** `--http`, HTTP_ADDR: the admin console's address (`HOST:PORT`, `PORT`, or `off` = null); port null = P+3. */
  readonly httpAddr: HttpAddr | null;
  /** `--http-admin-password`, HTTP_ADMIN_PASSWORD: the console's password; null = ADMIN_PASSWORD's. */
  readonly httpAdminPassword: string | null;
  /** `--metrics-token`, METRICS_TOKEN: bearer token `/metrics` requires; empty = open (like /healthz). */
  readonly metricsToken: string;
  /** `--http-login-attempts`, HTTP_LOGIN_ATTEMPTS: console logins one IP address may try per minute. */
  readonly httpLoginAttempts: number;
  /** `--http-secure-cookie`, HTTP_SECURE_COOKIE: mark the session cookie `Secure` (console behind a TLS proxy). */
  readonly httpSecureCookie: boolean;
}

/** Where the admin console listens; `port` null means P+3 (next to the session ports). */
export interface HttpAddr {
  readonly host: string;
  readonly port: number | null;
}

export type ConfigKey = keyof Config;

/** Where a value came from (for the startup log; never the value of a password). */
export type ConfigSource = 'flag' | 'env' | '.env' | 'default';

/** Defaults: the seed's documented values (DESIGN §8) and the limits' defaults (session/limits.ts). */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  port: 5555,
  host: '*',
  adminPassword: 'admin',
  serverPassword: '',
  timeoutMs: DEFAULT_TIMEOUT_MS,
  logLevel: 'INFO',
  logFormat: 'text',
  logFile: null,
  dataDir: './data',
  saveIntervalS: 120,
  maxBackups: DEFAULT_MAX_BACKUPS,
  journalFsync: DEFAULT_JOURNAL_FSYNC,
  journalReserveBytes: DEFAULT_JOURNAL_RESERVE_BYTES,
  diskFreeWarnBytes: DEFAULT_DISK_FREE_WARN_BYTES,
  historyRetentionS: DEFAULT_HISTORY_RETENTION_S,
  historyMaxBytes: DEFAULT_HISTORY_MAX_BYTES,
  historyCheckpointIntervalS: DEFAULT_HISTORY_CHECKPOINT_INTERVAL_S,
  // Every limit's default lives with the module that enforces it; this object only gathers them,
  // so a changed default cannot leave the CLI (and the docs, tested against it) behind.
  sendQueueMaxMessages: DEFAULT_SEND_QUEUE_LIMITS.maxMessages,
  sendQueueMaxBytes: DEFAULT_SEND_QUEUE_LIMITS.maxBytes,
  maxFrameBytes: DEFAULT_PROTOCOL_LIMITS.maxPayloadFrameBytes,
  maxFramesPerMessage: DEFAULT_PROTOCOL_LIMITS.maxFrames,
  maxCommandBytes: DEFAULT_SESSION_LIMITS.maxCommandFrameBytes,
  maxMetadataBytes: DEFAULT_SESSION_LIMITS.maxMetadataBytes,
  maxMetadataUpdateBytes: DEFAULT_SESSION_LIMITS.maxMetadataUpdateBytes,
  maxUserListMetadataBytes: DEFAULT_SESSION_LIMITS.maxUserListMetadataBytes,
  maxPickleContainers: DEFAULT_PICKLE_LIMITS.maxContainers,
  maxCommandContainers: DEFAULT_SESSION_LIMITS.maxCommandContainers,
  maxCommitNodeContainers: DEFAULT_SESSION_LIMITS.maxCommitNodeContainers,
  maxNodes: DEFAULT_SESSION_LIMITS.maxNodes,
  maxClients: DEFAULT_SESSION_LIMITS.maxClients,
  maxPickleDepth: DEFAULT_PICKLE_LIMITS.maxDepth,
  heartbeatGraceMs: DEFAULT_HEARTBEAT_GRACE_MS,
  preLoginMaxFrames: DEFAULT_TRANSPORT_LIMITS.preLoginMaxFrames,
  preLoginMaxMessageBytes: DEFAULT_TRANSPORT_LIMITS.preLoginMaxMessageBytes,
  handshakeTimeoutMs: DEFAULT_TRANSPORT_LIMITS.handshakeTimeoutMs,
  preLoginTimeoutMs: DEFAULT_TRANSPORT_LIMITS.preLoginTimeoutMs,
  disconnectGraceMs: DEFAULT_TRANSPORT_LIMITS.disconnectGraceMs,
  maxConnections: DEFAULT_TRANSPORT_LIMITS.maxConnections,
  maxConnectionsPerAddress: DEFAULT_TRANSPORT_LIMITS.maxConnectionsPerAddress,
  maxNewConnectionsPerSecond: DEFAULT_TRANSPORT_LIMITS.newConnectionsPerAddressPerSecond,
  httpAddr: Object.freeze({ host: '127.0.0.1', port: null }),
  httpAdminPassword: null,
  metricsToken: '',
  httpLoginAttempts: 10,
  httpSecureCookie: false,
});

interface OptionSpec {
  readonly key: ConfigKey;
  readonly env: string;
  readonly flags: readonly string[];
  /** Whether an empty string is a value (passwords, log file) or means "not set" (numbers, paths). */
  readonly emptyIsValue: boolean;
  readonly parse: (raw: string, origin: string) => Config[ConfigKey];
}

function intIn(min: number, max: number, what: string) {
  return (raw: string, origin: string): number => {
    const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(
        'CONFIG_INVALID',
        `${origin}: ${what} must be an integer from ${min} to ${max}, got '${raw}'`,
      );
    }
    return n;
  };
}

const LEVELS: Readonly<Record<string, LogLevelName>> = {
  DEBUG: 'DEBUG',
  INFO: 'INFO',
  WARNING: 'WARNING',
  WARN: 'WARNING',
  ERROR: 'ERROR',
  CRITICAL: 'ERROR',
};

function parseLevel(raw: string, origin: string): LogLevelName {
  const level = LEVELS[raw.trim().toUpperCase()];
  if (level === undefined) {
    throw new ConfigError('CONFIG_INVALID', `${origin}: log level must be DEBUG, INFO, WARNING or ERROR, got '${raw}'`);
  }
  return level;
}

function parseLogFormat(raw: string, origin: string): LogFormat {
  const format = raw.trim().toLowerCase();
  if (format !== 'text' && format !== 'json') {
    throw new ConfigError('CONFIG_INVALID', `${origin}: log format must be text or json, got '${raw}'`);
  }
  return format;
}

function parseHost(raw: string, origin: string): string {
  const host = raw.trim();
  if (host === '' || /[\s/]/.test(host)) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${origin}: host must be an address or name such as 0.0.0.0, 127.0.0.1, ::1 or *, got '${raw}'`,
    );
  }
  return host;
}

const asIs = (raw: string): string => raw;

function parseFsync(raw: string, origin: string): JournalFsyncPolicy {
  const policy = parseJournalFsync(raw);
  if (policy === null) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${origin}: the journal fsync policy must be always, off or an interval in ms from 1 to 60000, got '${raw}'`,
    );
  }
  return policy;
}

/** `off`, `PORT`, `HOST:PORT` or `[IPV6]:PORT`. */
function parseHttpAddr(raw: string, origin: string): HttpAddr | null {
  const text = raw.trim();
  if (text.toLowerCase() === 'off') return null;
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+):)?(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port < 1 || port > 65535) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${origin}: the admin console address must be off, PORT, HOST:PORT or [IPV6]:PORT, got '${raw}'`,
    );
  }
  return { host: m[1] === undefined ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, ''), port };
}

function parseBool(raw: string, origin: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError('CONFIG_INVALID', `${origin}: expected true or false, got '${raw}'`);
}

/** Every option: its key, environment variable, flags. Also the source of `.env.example` and the usage text. */
export const OPTION_SPECS: readonly OptionSpec[] = [
  { key: 'port', env: 'PORT', flags: ['--port', '-p'], emptyIsValue: false, parse: intIn(1, 65533, 'the port') },
  { key: 'host', env: 'HOST', flags: ['--host'], emptyIsValue: false, parse: parseHost },
  {
    key: 'adminPassword',
    env: 'ADMIN_PASSWORD',
    flags: ['--admin-password', '-apwd'],
    emptyIsValue: true,
    parse: asIs,
  },
  {
    key: 'serverPassword',
    env: 'SERVER_PASSWORD',
    flags: ['--server-password', '-spwd'],
    emptyIsValue: true,
    parse: asIs,
  },
  {
    key: 'timeoutMs',
    env: 'TIMEOUT',
    flags: ['--timeout', '-t'],
    emptyIsValue: false,
    parse: intIn(100, 86_400_000, 'the timeout (ms)'),
  },
  { key: 'logLevel', env: 'LOG_LEVEL', flags: ['--log-level', '-l'], emptyIsValue: false, parse: parseLevel },
  { key: 'logFormat', env: 'LOG_FORMAT', flags: ['--log-format'], emptyIsValue: false, parse: parseLogFormat },
  {
    key: 'logFile',
    env: 'LOG_FILE',
    flags: ['--log-file', '-lf'],
    emptyIsValue: true,
    parse: (raw) => (raw === '' ? null : raw),
  },
  { key: 'dataDir', env: 'DATA_DIR', flags: ['--data-dir'], emptyIsValue: false, parse: asIs },
  limitSpec('saveIntervalS', 'SAVE_INTERVAL', 0, 7 * 86_400, 'the save interval (s)'),
  limitSpec('maxBackups', 'MAX_BACKUPS', 0, 100_000, 'the number of backups'),
  { key: 'journalFsync', env: 'JOURNAL_FSYNC', flags: ['--journal-fsync'], emptyIsValue: false, parse: parseFsync },
  limitSpec('journalReserveBytes', 'JOURNAL_RESERVE', 0, 2 ** 40, 'the journal reserve (bytes)'),
  limitSpec('diskFreeWarnBytes', 'DISK_FREE_WARN', 0, 2 ** 50, 'the low disk space threshold (bytes)'),
  durationSpec('historyRetentionS', 'HISTORY_RETENTION', 0, 3650 * 86_400, 'the history retention'),
  limitSpec('historyMaxBytes', 'HISTORY_MAX_BYTES', 0, 2 ** 50, 'the history bound (bytes)'),
  durationSpec('historyCheckpointIntervalS', 'HISTORY_CHECKPOINT_INTERVAL', 1, 30 * 86_400, 'the checkpoint interval'),
  {
    key: 'sendQueueMaxMessages',
    env: 'SEND_QUEUE_MAX_MESSAGES',
    flags: ['--send-queue-max-messages'],
    emptyIsValue: false,
    parse: intIn(1, 10_000_000, 'the send queue bound (messages)'),
  },
  {
    key: 'sendQueueMaxBytes',
    env: 'SEND_QUEUE_MAX_BYTES',
    flags: ['--send-queue-max-bytes'],
    emptyIsValue: false,
    parse: intIn(1024, Number.MAX_SAFE_INTEGER, 'the send queue bound (bytes)'),
  },
  limitSpec('maxFrameBytes', 'MAX_FRAME_BYTES', 1024, 2 ** 31 - 1, 'the largest frame (bytes)'),
  limitSpec('maxFramesPerMessage', 'MAX_FRAMES_PER_MESSAGE', 5, 1024, 'the frames per message'),
  limitSpec('maxCommandBytes', 'MAX_COMMAND_BYTES', 1024, 2 ** 31 - 1, 'the largest command (bytes)'),
  limitSpec('maxMetadataBytes', 'MAX_METADATA_BYTES', 1024, 2 ** 31 - 1, 'the metadata bound (bytes)'),
  limitSpec(
    'maxMetadataUpdateBytes',
    'MAX_METADATA_UPDATE_BYTES',
    1024,
    2 ** 31 - 1,
    'the metadata update bound (bytes)',
  ),
  limitSpec(
    'maxUserListMetadataBytes',
    'MAX_USER_LIST_METADATA_BYTES',
    1024,
    2 ** 31 - 1,
    'the user list metadata bound (bytes)',
  ),
  limitSpec('maxPickleContainers', 'MAX_PICKLE_CONTAINERS', 1000, 1_000_000_000, 'the pickle container bound'),
  limitSpec('maxCommandContainers', 'MAX_COMMAND_CONTAINERS', 100, 1_000_000_000, 'the command container bound'),
  limitSpec(
    'maxCommitNodeContainers',
    'MAX_COMMIT_NODE_CONTAINERS',
    100,
    1_000_000_000,
    'the containers of a node a Commit may change',
  ),
  limitSpec('maxNodes', 'MAX_NODES', 1, 100_000_000, 'the node bound'),
  limitSpec('maxClients', 'MAX_CLIENTS', 1, 100_000, 'the client bound'),
  limitSpec('maxPickleDepth', 'MAX_PICKLE_DEPTH', 50, 5000, 'the pickle depth bound'),
  limitSpec('heartbeatGraceMs', 'HEARTBEAT_GRACE', 1000, 86_400_000, 'the heartbeat grace (ms)'),
  limitSpec('preLoginMaxFrames', 'PRE_LOGIN_MAX_FRAMES', 3, 1024, 'the frames per message before login'),
  limitSpec(
    'preLoginMaxMessageBytes',
    'PRE_LOGIN_MAX_MESSAGE_BYTES',
    256,
    2 ** 31 - 1,
    'the message bytes before login',
  ),
  limitSpec('handshakeTimeoutMs', 'HANDSHAKE_TIMEOUT', 100, 3_600_000, 'the handshake timeout (ms)'),
  limitSpec('preLoginTimeoutMs', 'PRE_LOGIN_TIMEOUT', 1000, 86_400_000, 'the pre-login timeout (ms)'),
  limitSpec('disconnectGraceMs', 'DISCONNECT_GRACE', 0, 3_600_000, 'the disconnect grace (ms)'),
  limitSpec('maxConnections', 'MAX_CONNECTIONS', 3, 1_000_000, 'the connection bound'),
  limitSpec('maxConnectionsPerAddress', 'MAX_CONNECTIONS_PER_ADDRESS', 3, 1_000_000, 'the connections per address'),
  limitSpec(
    'maxNewConnectionsPerSecond',
    'MAX_NEW_CONNECTIONS_PER_SECOND',
    1,
    1_000_000,
    'the new connections per second',
  ),
  { key: 'httpAddr', env: 'HTTP_ADDR', flags: ['--http'], emptyIsValue: false, parse: parseHttpAddr },
  {
    key: 'httpAdminPassword',
    env: 'HTTP_ADMIN_PASSWORD',
    flags: ['--http-admin-password'],
    emptyIsValue: false,
    parse: asIs,
  },
  { key: 'metricsToken', env: 'METRICS_TOKEN', flags: ['--metrics-token'], emptyIsValue: true, parse: asIs },
  limitSpec('httpLoginAttempts', 'HTTP_LOGIN_ATTEMPTS', 1, 10_000, 'the console login attempts per minute'),
  {
    key: 'httpSecureCookie',
    env: 'HTTP_SECURE_COOKIE',
    flags: ['--http-secure-cookie'],
    emptyIsValue: false,
    parse: parseBool,
  },
];

/** A numeric bound whose flag is the kebab-case of its variable (`MAX_NODES` ↔ `--max-nodes`). */
function limitSpec(key: ConfigKey, env: string, min: number, max: number, what: string): OptionSpec {
  return {
    key,
    env,
    flags: ['--' + env.toLowerCase().replace(/_/g, '-')],
    emptyIsValue: false,
    parse: intIn(min, max, what),
  };
}

const DURATION_UNITS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** A duration in seconds: `3600`, `90s`, `30m`, `12h`, `7d`, `2w`. */
function durationSpec(key: ConfigKey, env: string, min: number, max: number, what: string): OptionSpec {
  return {
    key,
    env,
    flags: ['--' + env.toLowerCase().replace(/_/g, '-')],
    emptyIsValue: false,
    parse: (raw, origin) => {
      const m = /^(\d+)\s*([smhdw]?)$/i.exec(raw.trim());
      const n = m === null ? NaN : Number(m[1]) * (DURATION_UNITS[m[2].toLowerCase()] ?? NaN);
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        throw new ConfigError(
          'CONFIG_INVALID',
          `${origin}: ${what} must be a duration from ${min} to ${max} seconds (such as 90s, 30m, 12h, 7d), got '${raw}'`,
        );
      }
      return n;
    },
  };
}

const BY_FLAG = new Map<string, OptionSpec>(OPTION_SPECS.flatMap((s) => s.flags.map((f) => [f, s] as const)));

/** Flag values by key. Throws `ConfigError` for an unknown flag or a flag without a value. */
export function parseFlags(argv: readonly string[]): Map<ConfigKey, { raw: string; flag: string }> {
  const out = new Map<ConfigKey, { raw: string; flag: string }>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const spec = BY_FLAG.get(flag);
    if (spec === undefined) {
      throw new ConfigError('CONFIG_UNKNOWN_FLAG', `unknown option '${arg}' (see 'multiuser-server help')`);
    }
    let raw: string;
    if (eq >= 0) {
      raw = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      // A following flag is not a value: `-spwd -p 5555` forgot the password (argparse refuses it too).
      if (next === undefined || BY_FLAG.has(next.split('=')[0])) {
        throw new ConfigError('CONFIG_MISSING_VALUE', `option ${flag} needs a value`);
      }
      raw = next;
      i++;
    }
    out.set(spec.key, { raw, flag });
  }
  return out;
}

export interface ConfigInputs {
  /** Command-line arguments after the command name. */
  argv?: readonly string[];
  /** Environment variables. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Text of the `.env` file, or undefined when there is none. */
  dotenvText?: string;
}

export interface ResolvedConfig {
  readonly config: Config;
  /** Where each value came from. */
  readonly sources: Readonly<Record<ConfigKey, ConfigSource>>;
}

/**
 * Merges flags > environment > `.env` > defaults and validates every value. Throws `ConfigError`
 * whose message names the flag or variable (and the source) of the first bad value.
 */
export function resolveConfig(inputs: ConfigInputs): ResolvedConfig {
  const flags = parseFlags(inputs.argv ?? []);
  const env = inputs.env ?? {};
  const dotenv = inputs.dotenvText === undefined ? new Map<string, string>() : parseDotenv(inputs.dotenvText);
  const config: Record<string, unknown> = { ...DEFAULT_CONFIG };
  const sources = {} as Record<ConfigKey, ConfigSource>;
  for (const spec of OPTION_SPECS) {
    const present = (v: string | undefined): v is string => v !== undefined && (spec.emptyIsValue || v.trim() !== '');
    const fromFlag = flags.get(spec.key);
    const fromEnv = env[spec.env];
    const fromFile = dotenv.get(spec.env);
    if (fromFlag !== undefined && present(fromFlag.raw)) {
      config[spec.key] = spec.parse(fromFlag.raw, fromFlag.flag);
      sources[spec.key] = 'flag';
    } else if (fromFlag !== undefined) {
      throw new ConfigError('CONFIG_MISSING_VALUE', `option ${fromFlag.flag} needs a value`);
    } else if (present(fromEnv)) {
      config[spec.key] = spec.parse(fromEnv, `environment variable ${spec.env}`);
      sources[spec.key] = 'env';
    } else if (present(fromFile)) {
      config[spec.key] = spec.parse(fromFile, `${spec.env} in .env`);
      sources[spec.key] = '.env';
    } else {
      sources[spec.key] = 'default';
    }
  }
  const resolved = Object.freeze(config as unknown as Config);
  checkHttpExposure(resolved, sources);
  return { config: resolved, sources: Object.freeze(sources) };
}

/** The admin console's password: HTTP_ADMIN_PASSWORD, else ADMIN_PASSWORD. Empty disables console logins. */
export function consolePassword(config: Config): string {
  return config.httpAdminPassword ?? config.adminPassword;
}

/** Loopback addresses: the console may keep the default password only there. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Anyone who can reach a console with the well-known password can kick users and download the
 * scene: refuse to publish it beyond this machine until a password is set.
 */
function checkHttpExposure(config: Config, sources: Readonly<Record<ConfigKey, ConfigSource>>): void {
  const addr = config.httpAddr;
  if (addr === null || isLoopbackHost(addr.host)) return;
  if (consolePassword(config) === DEFAULT_CONFIG.adminPassword) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `the admin console would listen on ${addr.host} (HTTP_ADDR from ${sources.httpAddr}) with the default ` +
        `password: set HTTP_ADMIN_PASSWORD (or ADMIN_PASSWORD), bind it to 127.0.0.1, or set HTTP_ADDR=off`,
    );
  }
}

/** Whether the admin password is the well-known default (the start warns loudly). */
export function usesDefaultAdminPassword(config: Config): boolean {
  return config.adminPassword === DEFAULT_CONFIG.adminPassword;
}
