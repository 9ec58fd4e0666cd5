/**
 * Event-loop stall while something runs, measured two ways at once (DESIGN §4: a save must not
 * block the loop for more than a few milliseconds):
 * - a 1 ms `setInterval` whose longest gap between two ticks, minus the 1 ms period, is the
 *   longest time the loop could not run a timer;
 * - `perf_hooks.monitorEventLoopDelay` (libuv timer, 1 ms resolution): its max and p99. Node
 *   records the whole interval between its timer's runs, period included, so 1 ms is taken
 *   off these too (an idle loop then reads ≈ 0).
 * On a shared 2-core machine both include time the OS did not schedule this thread at all.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';

export interface StallResult {
  /** Longest 1 ms-timer gap − 1 ms. */
  timerMaxStallMs: number;
  /** monitorEventLoopDelay max − 1 ms. */
  eldMaxMs: number;
  /** monitorEventLoopDelay p99 − 1 ms. */
  eldP99Ms: number;
  /** Timer ticks seen (≈ duration in ms when the loop kept up). */
  ticks: number;
  /** V8 garbage collections in the window (PerformanceObserver `gc`): count, longest, total (ms). */
  gcCount: number;
  gcMaxMs: number;
  gcTotalMs: number;
  /**
   * The main thread's scheduler statistics over the window (Linux /proc/self/schedstat; null
   * elsewhere): time on a CPU, and time runnable but waiting for one — the part of the stalls
   * that is the OS's, not ours.
   */
  mainRunMs: number | null;
  mainRunQueueMs: number | null;
  /** CPU time of the whole process (every thread: zlib and fs on the libuv pool included). */
  processCpuMs: number;
  /** Highest RSS seen (sampled every 10 ticks), MB. */
  rssPeakMb: number;
}

/** [on-CPU ns, run-queue wait ns] of the main thread, or null off Linux. */
function schedstat(): [number, number] | null {
  try {
    const f = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
    return [Number(f[0]), Number(f[1])];
  } catch {
    return null;
  }
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const PERIOD_MS = 1;
const round2 = (v: number): number => Math.round(v * 100) / 100;

export class StallProbe {
  private timer: NodeJS.Timeout | null = null;
  private last = 0;
  private maxGap = 0;
  private ticks = 0;
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: PERIOD_MS });
  private sched0: [number, number] | null = null;
  private cpu0 = 0;
  private rssPeak = 0;
  private gcCount = 0;
  private gcMaxMs = 0;
  private gcTotalMs = 0;
  private readonly gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      this.gcCount++;
      this.gcTotalMs += e.duration;
      if (e.duration > this.gcMaxMs) this.gcMaxMs = e.duration;
    }
  });

  start(): void {
    this.histogram.reset();
    this.histogram.enable();
    this.maxGap = 0;
    this.ticks = 0;
    this.rssPeak = process.memoryUsage.rss();
    this.gcCount = 0;
    this.gcMaxMs = 0;
    this.gcTotalMs = 0;
    this.gcObserver.observe({ entryTypes: ['gc'] });
    this.sched0 = schedstat();
    this.cpu0 = cpuMs();
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const gap = now - this.last;
      if (gap > this.maxGap) this.maxGap = gap;
      this.last = now;
      if (this.ticks++ % 10 === 0) this.rssPeak = Math.max(this.rssPeak, process.memoryUsage.rss());
    }, PERIOD_MS);
  }

  /** Stops both probes; the final gap up to now counts too. */
  stop(): StallResult {
    const gap = performance.now() - this.last;
    if (gap > this.maxGap) this.maxGap = gap;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.histogram.disable();
    this.gcObserver.disconnect();
    const sched1 = schedstat();
    const s0 = this.sched0;
    const ms = (ns: number): number => round2(Math.max(0, ns / 1e6 - PERIOD_MS));
    return {
      timerMaxStallMs: round2(Math.max(0, this.maxGap - PERIOD_MS)),
      eldMaxMs: ms(this.histogram.max),
      eldP99Ms: ms(this.histogram.percentile(99)),
      ticks: this.ticks,
      gcCount: this.gcCount,
      gcMaxMs: round2(this.gcMaxMs),
      gcTotalMs: round2(this.gcTotalMs),
      mainRunMs: s0 === null || sched1 === null ? null : Math.round((sched1[0] - s0[0]) / 1e6),
      mainRunQueueMs: s0 === null || sched1 === null ? null : Math.round((sched1[1] - s0[1]) / 1e6),
      processCpuMs: Math.round(cpuMs() - this.cpu0),
      rssPeakMb: Math.round(Math.max(this.rssPeak, process.memoryUsage.rss()) / 1048576),
    };
  }
}
