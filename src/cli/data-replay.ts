/**
 * The session the next start would serve: the loaded snapshot through `Session.fromImage`, every
 * journal record through `applyMutation`, then `finishRecovery` — the path the server takes at
 * startup (STYLE.md §2: one code path for live traffic, replay and restore) — exported back as an
 * image. Used by `export` (the .db written) and `verify` (the summary of what will load), and by
 * `restore` / `import` to keep the current state as a backup before replacing it.
 */
import { SessionError, decodeMutation, Session, type SessionImage } from '../session/index.js';
import type { DecodedSnapshot } from '../store/index.js';
import type { Config } from './config.js';
import { sessionOptionsOf } from './data-command.js';
import { Progress, type ProgressOptions } from './data-progress.js';

export interface ReplayResult {
  image: SessionImage;
  /** Records replayed (decoded and applied, or skipped with a problem). */
  records: number;
  /** Records refused as input (a node a client could not have sent): skipped, and also in `problems`. */
  refused: string[];
  /** Warnings and errors the session logged (skipped nodes, records that did not apply or decode). */
  problems: string[];
}

/**
 * Replays `records` onto `loaded` (or onto an empty session when nothing loads). Never throws
 * for a bad record: it is counted in `problems`, as the server logs and skips it.
 */
export function replaySession(
  loaded: DecodedSnapshot | null,
  records: readonly Uint8Array[],
  config: Config,
  stderr: NodeJS.WritableStream,
  progressOptions?: ProgressOptions,
): ReplayResult {
  const options = sessionOptionsOf(config);
  const problems: string[] = [];
  const refused: string[] = [];
  const collect = (effects: readonly { type: string; level?: string; message?: string }[]): void => {
    for (const e of effects) {
      if (e.type === 'log' && (e.level === 'warn' || e.level === 'error')) problems.push(e.message ?? '');
    }
  };
  let session: Session;
  if (loaded === null) session = new Session(options);
  else {
    const r = Session.fromImage(loaded.image, options);
    session = r.session;
    collect(r.effects);
  }
  const progress = new Progress(stderr, 'Replaying the journal', 'records', records.length, progressOptions);
  for (let i = 0; i < records.length; i++) {
    try {
      const m = decodeMutation(records[i], options.limits);
      const why = session.checkMutation(m);
      if (why === null) collect(session.applyMutation(m));
      else {
        refused.push(`Journal record #${i + 1} refused: ${why}`);
        problems.push(refused[refused.length - 1]);
      }
    } catch (err) {
      if (!(err instanceof SessionError)) throw err;
      problems.push(`Journal record #${i + 1} not applied: ${err.message}`);
    }
    progress.set(i + 1);
  }
  progress.finish();
  collect(session.finishRecovery());
  return { image: session.exportImage(), records: records.length, refused, problems };
}
