/**
 * `multiuser-server [serve] [flags]`: resolve the configuration, take the data directory and
 * restore the session from it (persistence.ts), start the session server with the journal and
 * save hooks, say where it listens, run the shell when stdin is a TTY, and shut down cleanly on
 * SIGINT / SIGTERM (or `exit`): stop accepting, save `shutdown`, release the data directory.
 * SIGHUP reopens the log file.
 */

import type { AdminServer } from '../admin/index.js';
import { NetError, SessionServer } from '../net/index.js';
import { REPLICATION_VERSION } from '../protocol/index.js';
import { StoreError } from '../store/index.js';
import { consoleHost, netViewOf, saveResultOf, startConsole, storeViewOf, type ConsoleState } from './admin-console.js';
import { readDotenv } from './dotenv-file.js';
import { ConfigError, resolveConfig, usesDefaultAdminPassword, type Config, type ResolvedConfig } from './config.js';
import { historyOptionsOf, Persistence, SAVE_REASON_MANUAL, SAVE_REASON_PRE_RESTORE } from './persistence.js';
import { createServerLogger, type ServerLogger } from './server-logger.js';
import { sessionOptionsOf } from './session-options.js';
import { liveRestore, type LiveRestoreRequest, type LiveRestoreResult, type LiveRestoreSteps } from './live-restore.js';
import { startShell } from './shell.js';
import { serverVersion } from './version.js';

export interface ServeIo {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Registers a signal handler; returns a function that removes it. */
  onSignal(signal: NodeJS.Signals, handler: () => void): () => void;
}

/** The line operators look for first (the reference's own: `Listening on 5555.`). */
export function listeningLine(port: number): string {
  return `Listening on ${port}.`;
}

/** How long a live restore waits for the disconnected clients' connections to close (bounded: a peer may not read). */
const DISCONNECT_FLUSH_MS = 2000;

function logStartup(logger: ServerLogger, resolved: ResolvedConfig): void {
  const { config, sources } = resolved;
  logger.info(`multiuser-server (replication ${REPLICATION_VERSION} protocol) starting`);
  if (usesDefaultAdminPassword(config)) {
    const banner = '!'.repeat(72);
    logger.warn(banner);
    logger.warn('The admin password is the default one. Anyone who knows it can kick users and');
    logger.warn('initialise the session. Set --admin-password / -apwd or ADMIN_PASSWORD.');
    logger.warn(banner);
  } else if (config.adminPassword === '') {
    logger.info('Admin password is empty: admin logins are disabled.');
  }
  logger.info(
    config.serverPassword === ''
      ? 'No server password: the session is public.'
      : `Server password set (from ${sources.serverPassword}).`,
  );
  logger.debug(
    `Configuration: port ${config.port} (${sources.port}), host ${config.host} (${sources.host}), ` +
      `timeout ${config.timeoutMs} ms (${sources.timeoutMs}), log level ${config.logLevel} (${sources.logLevel}), ` +
      `data dir ${config.dataDir} (${sources.dataDir}), save interval ${config.saveIntervalS} s ` +
      `(${sources.saveIntervalS}), backups ${config.maxBackups} (${sources.maxBackups}), journal fsync ` +
      `${config.journalFsync} (${sources.journalFsync}), send queue ${config.sendQueueMaxMessages} messages / ` +
      `${config.sendQueueMaxBytes} bytes`,
  );
}

async function startServer(config: Config, logger: ServerLogger, persistence: Persistence): Promise<SessionServer> {
  const server = await SessionServer.start({
    port: config.port,
    host: config.host,
    session: persistence.session,
    // Journal before relay: the hook runs before the effects after each persist (DESIGN §4).
    persist: persistence.persist,
    save: (reason) => void persistence.save(reason),
    logger: logger.child({ subsystem: 'net' }),
    sendQueue: { maxMessages: config.sendQueueMaxMessages, maxBytes: config.sendQueueMaxBytes },
    // Checked at each frame header, before the body is read: memory stays bounded too.
    tuning: { maxFrameBytes: config.maxFrameBytes, maxFramesPerMessage: config.maxFramesPerMessage },
    transport: {
      preLoginMaxFrames: config.preLoginMaxFrames,
      preLoginMaxMessageBytes: config.preLoginMaxMessageBytes,
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      preLoginTimeoutMs: config.preLoginTimeoutMs,
      disconnectGraceMs: config.disconnectGraceMs,
      maxConnections: config.maxConnections,
      maxConnectionsPerAddress: config.maxConnectionsPerAddress,
      newConnectionsPerAddressPerSecond: config.maxNewConnectionsPerSecond,
    },
  });
  persistence.onRefuse = (reason) => server.stopAccepting(reason);
  persistence.onResume = () => server.resumeAccepting();
  return server;
}

/** Takes DATA_DIR and restores the session; null (logged) when it cannot. */
async function openPersistence(config: Config, logger: ServerLogger, cwd: string): Promise<Persistence | null> {
  try {
    return await Persistence.open({
      dataDir: config.dataDir,
      cwd,
      saveIntervalS: config.saveIntervalS,
      maxBackups: config.maxBackups,
      journalFsync: config.journalFsync,
      journalReserveBytes: config.journalReserveBytes,
      history: historyOptionsOf(config),
      diskFreeWarnBytes: config.diskFreeWarnBytes,
      session: sessionOptionsOf(config),
      logger,
      serverVersion: serverVersion(),
    });
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    logger.error(`Cannot start: ${err.message}`);
    if (err.code === 'STORE_LOCKED') {
      logger.error(
        'Another server (or a data tool) is using this data directory: stop it, or choose another --data-dir.',
      );
    }
    return null;
  }
}

/** Runs the server until a signal or `exit`. Resolves with the exit code (0 clean, 1 start failure, 2 bad config). */
export async function runServe(argv: readonly string[], io: ServeIo): Promise<number> {
  let resolved: ResolvedConfig;
  try {
    resolved = resolveConfig({ argv, env: io.env, dotenvText: readDotenv(io.cwd) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`multiuser-server: ${err.message}\n`);
    return 2;
  }
  const { config } = resolved;
  const logger = createServerLogger({
    level: config.logLevel,
    format: config.logFormat,
    file: config.logFile,
    stream: io.stderr,
  });
  let why = '';
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const shutdown = (reason: string): void => {
    if (why !== '') return;
    why = reason;
    stop();
  };
  // SIGHUP's default action kills the process without a save: logrotate (and a closed terminal)
  // send it, so it reopens the log file and the server goes on serving.
  const reopenLog = (): void => {
    void logger
      .reopen()
      .then((reopened) =>
        logger.info(
          reopened
            ? `SIGHUP: log file ${config.logFile} reopened.`
            : 'SIGHUP: no log file to reopen (LOG_FILE is not set); still serving.',
        ),
      );
  };
  // Installed before anything starts: a signal during startup still ends in a clean shutdown.
  const removers = [
    io.onSignal('SIGINT', () => shutdown('SIGINT')),
    io.onSignal('SIGTERM', () => shutdown('SIGTERM')),
    io.onSignal('SIGHUP', reopenLog),
  ];
  logStartup(logger, resolved);

  // The console starts first: /healthz and /readyz ("recovering") answer while a big session loads.
  const consoleState: ConsoleState = { session: null, net: null, store: null };
  let admin: AdminServer | null;
  try {
    admin = await startConsole(config, consoleHost(consoleState, serverVersion(), config.port), logger);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = config.httpAddr === null ? '' : `${config.httpAddr.host}:${config.httpAddr.port ?? config.port + 3}`;
    logger.error(`Cannot start the admin console on ${where}: ${code ?? (err as Error).message}`);
    logger.error('Choose another address with --http / HTTP_ADDR, or HTTP_ADDR=off to run without the console.');
    for (const remove of removers) remove();
    await logger.close();
    return 1;
  }
  const opened = await openPersistence(config, logger, io.cwd);
  if (opened === null) {
    await admin?.close();
    for (const remove of removers) remove();
    await logger.close();
    return 1;
  }
  const saves = { lastSave: null as ReturnType<typeof saveResultOf> | null };
  // A live restore replaces both: everything below reads them through `live`.
  const live = {
    persistence: opened,
    server: null as SessionServer | null,
    restoring: null as Promise<LiveRestoreResult> | null,
    /** A live restore could not reopen the session: the exit code says the server failed. */
    lost: false,
  };
  const adopt = (persistence: Persistence): void => {
    live.persistence = persistence;
    persistence.onSaveOutcome = (outcome) => {
      const result = saveResultOf(outcome, Date.now());
      saves.lastSave = result;
      admin?.saved(result);
    };
    consoleState.session = persistence.session;
    consoleState.store = storeViewOf(persistence, sessionOptionsOf(config), saves);
  };
  adopt(opened);
  try {
    live.server = await startServer(config, logger, opened);
  } catch (err) {
    await opened.abort();
    await admin?.close();
    if (!(err instanceof NetError)) throw err;
    logger.error(`Cannot start: ${err.message}`);
    if (err.code === 'NET_ADDRESS_IN_USE') {
      logger.error(
        `Stop the other process or choose another port with --port (ports ${config.port}-${config.port + 2} are needed).`,
      );
    }
    for (const remove of removers) remove();
    await logger.close();
    return 1;
  }
  consoleState.net = netViewOf(live.server);
  opened.startAutoSave();
  logger.info(listeningLine(config.port));
  if (admin !== null) logger.info(`Admin console on ${admin.url}/`);
  logger.info(
    `Command ${live.server.endpoints.command}, data ${live.server.endpoints.data}, heartbeat ${live.server.endpoints.heartbeat}`,
  );

  const restoreSteps: LiveRestoreSteps = {
    config,
    cwd: io.cwd,
    logger,
    disconnectAll: async (reason) => {
      live.server?.disconnectAll(reason);
      await live.server?.drained(DISCONNECT_FLUSH_MS);
    },
    closeSession: async () => {
      consoleState.net = null;
      consoleState.session = null;
      consoleState.store = null;
      await live.server?.close();
      live.server = null;
      return live.persistence.close(SAVE_REASON_PRE_RESTORE);
    },
    reopenSession: async () => {
      const persistence = await openPersistence(config, logger, io.cwd);
      if (persistence === null) {
        live.lost = true;
        shutdown('the session could not be reopened after a live restore');
        return false;
      }
      adopt(persistence);
      try {
        live.server = await startServer(config, logger, persistence);
      } catch (err) {
        logger.error(`Cannot reopen the session sockets: ${(err as Error).message}`);
        live.lost = true;
        shutdown('the session sockets could not be reopened after a live restore');
        return false;
      }
      consoleState.net = netViewOf(live.server);
      persistence.startAutoSave();
      return true;
    },
  };
  const restoreLive = async (request: LiveRestoreRequest): Promise<LiveRestoreResult> => {
    if (live.restoring !== null) return { ok: false, usage: false, message: 'a restore is already running' };
    if (why !== '') return { ok: false, usage: false, message: 'the server is shutting down' };
    live.restoring = liveRestore(request, restoreSteps);
    try {
      return await live.restoring;
    } finally {
      live.restoring = null;
    }
  };
  consoleState.restore = restoreLive;

  const shell = io.stdin.isTTY
    ? startShell(io.stdin, io.stdout, {
        listUsers: () =>
          live.persistence.session
            .listUsers()
            .map((u) => ({ ...u, address: live.server?.peersOf(u.clientId).command ?? '-' })),
        kick: (name) => live.server?.adminKick(name),
        save: () => void live.persistence.save(SAVE_REASON_MANUAL),
        archive: () => {
          const image = live.persistence.session.exportImage();
          return { chat: image.chat, tasks: image.tasks };
        },
        restore: restoreLive,
        exit: () => shutdown('exit'),
      })
    : undefined;

  await stopped;
  logger.info(`Shutting down (${why})`);
  shell?.close();
  logger.observe(null);
  await admin?.close();
  for (const remove of removers) remove();
  // A live restore in progress finishes first: it holds the data directory's files in between.
  await live.restoring;
  // Stop accepting first, so the shutdown save holds everything the server ever acknowledged.
  await live.server?.close();
  const saved = await live.persistence.close();
  logger.info('Server stopped.');
  await logger.close();
  return saved && !live.lost ? 0 : 1;
}
