/**
 * Live restore (docs/history.md): while the server runs, make a moment of history the current
 * session. The moment is rebuilt first, read-only, so a moment history cannot reach changes
 * nothing and disconnects nobody. Then every client gets a Disconnect with the reason, the
 * session is closed as at shutdown (its save keeps the state just before the restore, and its
 * journal moves to history), the stopped-server restore runs on the data directory, and the
 * session is opened again from it exactly as at start. Clients log in again to the restored scene.
 *
 * Crash safety comes from reusing the two paths that already have it: every step before the
 * restore's snapshot rename leaves the old session (snapshot + journal) in place, the rename
 * makes the new one current, and a restart recovers whichever `session_snapshot.pkl` names.
 */
import { resolve } from 'node:path';
import { Writable } from 'node:stream';

import type { RestoreRequest, RestoreResult } from '../admin/index.js';
import type { Config } from './config.js';
import { EXIT_OK, type DataArgs } from './data-command.js';
import { checkMoment, restoreMoment } from './history-restore.js';
import { formatMoment, parseMoment } from './history-time.js';
import type { ServerLogger } from './server-logger.js';

/** What the operator asks for: exactly one of a time (`--at`) and a change id (`--before`). */
export type LiveRestoreRequest = RestoreRequest;
export type LiveRestoreResult = RestoreResult;

/** How the running server takes part; serve.ts supplies them. */
export interface LiveRestoreSteps {
  readonly config: Config;
  readonly cwd: string;
  readonly logger: ServerLogger;
  /** Sends every client a Disconnect with `reason` and waits (bounded) for their connections to close. */
  disconnectAll(reason: string): Promise<void>;
  /** Closes the socket server and persistence as at shutdown; false when the final save failed. */
  closeSession(): Promise<boolean>;
  /** Opens persistence and the socket server again on the data directory, as at start; false when it cannot. */
  reopenSession(): Promise<boolean>;
}

/** The Disconnect reason the add-on shows every artist. */
export function restoreReason(request: LiveRestoreRequest, nowMs: number): string {
  if (request.before !== undefined)
    return `The session is being restored to just before change ${request.before} by the administrator`;
  const ms = parseMoment(request.at ?? '', nowMs);
  const when = typeof ms === 'number' ? formatMoment(ms) : String(request.at);
  return `The session is being restored to ${when} by the administrator`;
}

/** A stream that logs each line written to it (the restore tool's output goes to the server log). */
function lineLogger(log: (line: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done): void {
      for (const line of chunk.toString().split(/[\r\n]+/)) if (line.trim() !== '') log(`Restore: ${line}`);
      done();
    },
  });
}

export async function liveRestore(request: LiveRestoreRequest, steps: LiveRestoreSteps): Promise<LiveRestoreResult> {
  const { config, logger } = steps;
  const at = request.at;
  const before = request.before;
  if ((at === undefined) === (before === undefined))
    return { ok: false, usage: true, message: 'give exactly one of "at" (a time) and "before" (a change id)' };
  const flags = new Map<string, string | true>(at !== undefined ? [['--at', at]] : [['--before', before as string]]);
  const args: DataArgs = { config, dataDir: resolve(steps.cwd, config.dataDir), flags, positionals: [] };
  const nowMs = Date.now();
  const checked = await checkMoment(args, nowMs);
  if ('message' in checked)
    return { ok: false, usage: checked.usage, message: `${checked.message}; nothing was changed` };

  const reason = restoreReason(request, nowMs);
  logger.warn(`Live restore: ${reason}; disconnecting everyone`);
  await steps.disconnectAll(reason);
  if (!(await steps.closeSession())) {
    // The save of the state before the restore failed: restoring now could lose what it missed.
    const reopened = await steps.reopenSession();
    return {
      ok: false,
      usage: false,
      message:
        'the save before the restore failed (see the log); nothing was restored' +
        (reopened ? '' : ', and the session could not be reopened'),
    };
  }
  const code = await restoreMoment(
    { ...args, flags: checked.flags },
    {
      env: {},
      cwd: steps.cwd,
      stdout: lineLogger((line) => logger.info(line)),
      stderr: lineLogger((line) => logger.warn(line)),
    },
  );
  const reopened = await steps.reopenSession();
  if (!reopened)
    return { ok: false, usage: false, message: 'the session could not be reopened after the restore (see the log)' };
  if (code !== EXIT_OK)
    return { ok: false, usage: false, message: 'the restore failed (see the log); the session before it was reopened' };
  logger.warn(`Live restore done: ${reason.replace('is being restored', 'was restored')}; users can join again`);
  return { ok: true, message: reason.replace('is being restored', 'was restored') };
}
