/**
 * `multiuser-server verify [--data-dir DIR] [--strict]`: decodes the snapshot and every backup,
 * reads the journal chain with recovery's reader and replays it, all without changing anything
 * (no move to corrupt/, no truncation). One line per file — `OK`, `WARN` or `FAIL` — then what
 * the next start loads and a verdict.
 *
 * Exit 0 when the next start loads a valid file (the snapshot, or when it fails a backup) and the
 * journal is consistent (a torn last record is normal after a crash: WARN, not FAIL); else 1.
 * `--strict` also fails on any damaged file (an old backup) and on replay problems.
 *
 * Reads without the data-dir lock (see `withoutDataDirLock`), so it runs beside a live server and
 * on a read-only mount; a torn last journal record is then usually the record being written.
 */
import { localIsoSeconds } from '../store/index.js';
import {
  type DataIo,
  EXIT_FAIL,
  EXIT_OK,
  EXIT_USAGE,
  formatBytes,
  imageCheckOf,
  parseDataArgs,
  sessionOptionsOf,
  withoutDataDirLock,
} from './data-command.js';
import {
  inspectDataDirStable,
  MAX_INSPECT_ATTEMPTS,
  type FileCheck,
  type LoadPlan,
  type Verdict,
} from './data-inspect.js';
import { replaySession } from './data-replay.js';

export const VERIFY_USAGE = 'usage: multiuser-server verify [--data-dir DIR] [--strict]\n';

/** Replay problems printed one by one; the rest are counted. */
const MAX_PROBLEM_LINES = 10;

export async function runVerify(argv: readonly string[], io: DataIo): Promise<number> {
  const args = parseDataArgs(argv, io, { '--strict': 'bool' }, { min: 0, max: 0 });
  if (typeof args === 'string') {
    io.stderr.write(`multiuser-server verify: ${args}\n${VERIFY_USAGE}`);
    return EXIT_USAGE;
  }
  return withoutDataDirLock('verify', args.dataDir, io, async (live) => {
    const out = (verdict: Verdict | 'INFO', text: string): void => {
      io.stdout.write(`${(verdict === 'INFO' ? verdict : verdict.toUpperCase()).padEnd(5)} ${text}\n`);
    };
    io.stdout.write(`Data directory: ${args.dataDir}\n`);
    if (live) {
      out('INFO', 'a server holds this directory: this checks the files as they are now; its journal is still growing');
    }
    const { plan, stable } = await inspectDataDirStable(args.dataDir, {
      checkAll: true,
      stderr: io.stderr,
      check: imageCheckOf(sessionOptionsOf(args.config)),
    });
    for (const f of plan.files) fileLine(f, plan, out);
    if (!plan.files.some((f) => f.kind === 'snapshot') && plan.files.length > 0) {
      out('warn', 'session_snapshot.pkl: missing; the next start uses the newest valid backup');
    }
    for (const s of plan.journal.segments) out(s.verdict, `${s.file}: ${s.detail}`);

    let problems = 0;
    const failures: string[] = [];
    if (plan.fatal !== null) failures.push(`the server would refuse to start: ${plan.fatal.error?.message ?? ''}`);
    else if (plan.loaded === null) {
      failures.push(
        plan.files.length === 0
          ? 'no snapshot and no backup: nothing saved yet'
          : 'no snapshot or backup decodes: the next start would begin with an EMPTY session',
      );
    }
    if (!plan.journal.consistent) failures.push('the journal is not consistent (see FAIL lines)');
    if (!stable) {
      // A snapshot of one save with the journal of the next would show phantom FAIL or OK lines.
      failures.unshift(
        `the server saved during each of ${MAX_INSPECT_ATTEMPTS} attempts to read the directory, so the files read may belong to different saves; run verify again`,
      );
    }

    if (plan.fatal === null && (plan.loaded !== null || plan.journal.records.length > 0)) {
      const r = replaySession(plan.loaded?.decoded ?? null, plan.journal.records, args.config, io.stderr);
      problems = r.problems.length;
      for (const why of r.refused) out('fail', `replay: ${why}`);
      if (r.refused.length > 0) {
        failures.push(`${r.refused.length} journal record(s) refused as input (the server skips them with an ERROR)`);
      }
      const others = r.problems.filter((p) => !r.refused.includes(p));
      for (const p of others.slice(0, MAX_PROBLEM_LINES)) out('warn', `replay: ${p}`);
      if (others.length > MAX_PROBLEM_LINES) out('warn', `replay: … and ${others.length - MAX_PROBLEM_LINES} more`);
      const from = plan.loaded === null ? 'an empty session' : plan.loaded.check.file;
      const img = r.image;
      out(
        'INFO',
        `next start loads ${from} + ${r.records} journal record(s): ${img.nodes.length} nodes, ${img.users.size} users, ` +
          `${img.chat.length} chat message(s), ${img.tasks.size} task(s)${img.initialized ? '; clients get RUNNING' : ''}`,
      );
    }
    const damaged = plan.files.filter((f) => f.summary === null).length;
    const warnings = plan.journal.segments.filter((s) => s.verdict === 'warn').length + problems;
    if (args.flags.has('--strict')) {
      if (damaged > 0) failures.push(`${damaged} damaged file(s) (--strict)`);
      if (problems > 0) failures.push(`${problems} replay problem(s) (--strict)`);
    }
    io.stdout.write(
      `Summary: ${plan.files.length - damaged} of ${plan.files.length} snapshot file(s) valid, ` +
        `${plan.journal.segments.length} journal segment(s), ${warnings} warning(s)\n`,
    );
    if (failures.length > 0) {
      io.stdout.write(`Result: FAILED: ${failures.join('; ')}\n`);
      return EXIT_FAIL;
    }
    io.stdout.write('Result: OK\n');
    return EXIT_OK;
  });
}

function fileLine(f: FileCheck, plan: LoadPlan, out: (v: Verdict, text: string) => void): void {
  const s = f.summary;
  if (s === null) {
    const why = f.error?.message ?? 'unreadable';
    const reason = why.startsWith(`${f.path}: `) ? why.slice(f.path.length + 2) : why;
    const fate =
      f === plan.fatal
        ? 'recovery stops here: the server would refuse to start'
        : plan.loaded !== null && plan.files.indexOf(f) < plan.files.indexOf(plan.loaded.check)
          ? 'moved to corrupt/ at the next start'
          : 'not loadable';
    out('fail', `${f.file}: ${reason} (${fate})`);
    return;
  }
  const loads = plan.loaded?.check === f ? '; LOADS at the next start' : '';
  const reason = s.meta?.reason ?? 'saved by the add-on';
  out(
    'ok',
    `${f.file}: ${s.nodes} nodes, ${s.users} users, ${s.chat} chat message(s), ${s.tasks} task(s), ` +
      `saved ${localIsoSeconds(s.savedAtMs)} (${reason}), ${formatBytes(f.bytes)}${loads}`,
  );
}
