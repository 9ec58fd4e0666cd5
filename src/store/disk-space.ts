/**
 * Free space in DATA_DIR, watched so that operators hear about a filling disk long before it
 * stops anything: a WARN line when free space falls below `DISK_FREE_WARN`, an INFO line when it
 * is back above it (one line per state change, never repeated), and the current state for the
 * admin page and metrics (`status`).
 */
import { describeCause } from './errors.js';
import { NODE_STORE_FS, type StoreFs } from './fs-port.js';
import { NULL_LOGGER, type Logger } from '../session/index.js';

/** Default `DISK_FREE_WARN`: room for several snapshots of a large scene. */
export const DEFAULT_DISK_FREE_WARN_BYTES = 1024 * 1024 * 1024;
/** How often free space is checked (a statfs call: microseconds). */
export const DISK_CHECK_INTERVAL_MS = 5000;

export type DiskSpaceState = 'ok' | 'low' | 'unknown';

export interface DiskSpaceStatus {
  state: DiskSpaceState;
  freeBytes: number | null;
  totalBytes: number | null;
  /** `DISK_FREE_WARN`. */
  warnBelowBytes: number;
  checkedAtMs: number | null;
}

export interface DiskSpaceMonitorOptions {
  dataDir: string;
  /** `DISK_FREE_WARN` in bytes; 0 never warns. */
  warnBelowBytes: number;
  fs?: StoreFs;
  log?: Logger;
  now?: () => number;
  intervalMs?: number;
  /** Called after each successful check (the reserve refills from here). */
  onCheck?: (status: DiskSpaceStatus) => void | Promise<void>;
}

/** `1.5 GB` style (1024-based) for log lines. */
export function formatSpace(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

export class DiskSpaceMonitor {
  private current: DiskSpaceStatus;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<DiskSpaceStatus> | null = null;
  private readonly fsys: StoreFs;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly opts: DiskSpaceMonitorOptions) {
    this.fsys = opts.fs ?? NODE_STORE_FS;
    this.log = opts.log ?? NULL_LOGGER;
    this.now = opts.now ?? Date.now;
    this.current = {
      state: 'unknown',
      freeBytes: null,
      totalBytes: null,
      warnBelowBytes: opts.warnBelowBytes,
      checkedAtMs: null,
    };
  }

  /** The state as of the last check (a copy). */
  get status(): DiskSpaceStatus {
    return { ...this.current };
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.check(), this.opts.intervalMs ?? DISK_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Checks now (concurrent calls share one check). Never rejects. */
  check(): Promise<DiskSpaceStatus> {
    this.checking ??= this.doCheck().finally(() => (this.checking = null));
    return this.checking;
  }

  private async doCheck(): Promise<DiskSpaceStatus> {
    const warnBelow = this.opts.warnBelowBytes;
    let next: DiskSpaceStatus;
    try {
      const space = await this.fsys.statfs(this.opts.dataDir);
      next = {
        state: warnBelow > 0 && space.freeBytes < warnBelow ? 'low' : 'ok',
        freeBytes: space.freeBytes,
        totalBytes: space.totalBytes,
        warnBelowBytes: warnBelow,
        checkedAtMs: this.now(),
      };
    } catch (e) {
      if (this.current.state !== 'unknown') {
        this.log.warn(`Cannot check free space in DATA_DIR ${this.opts.dataDir}: ${describeCause(e)}`);
      }
      this.current = { ...this.current, state: 'unknown', checkedAtMs: this.now() };
      return this.status;
    }
    const was = this.current.state;
    this.current = next;
    if (next.state === 'low' && was !== 'low') {
      this.log.warn(
        `LOW DISK SPACE in DATA_DIR ${this.opts.dataDir}: ${formatSpace(next.freeBytes ?? 0)} free of ` +
          `${formatSpace(next.totalBytes ?? 0)}, below DISK_FREE_WARN (${formatSpace(warnBelow)}). Free space now: ` +
          'snapshots and backups fail first, then the journal uses its reserve',
      );
    } else if (next.state === 'ok' && was === 'low') {
      this.log.info(
        `Disk space in DATA_DIR back above DISK_FREE_WARN: ${formatSpace(next.freeBytes ?? 0)} free (${formatSpace(warnBelow)})`,
      );
    }
    try {
      await this.opts.onCheck?.(this.status);
    } catch (e) {
      this.log.warn(`Disk space check follow-up failed: ${describeCause(e)}`);
    }
    return this.status;
  }
}
