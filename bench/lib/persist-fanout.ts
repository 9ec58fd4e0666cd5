/**
 * Fan-out throughput under each `JOURNAL_FSYNC` (target: the default journal costs ≤ 10 %),
 * with the load generator of fanout.bench.ts (load.ts) against the compiled CLI on a real data
 * directory (cli-rig.ts). Mode `none` is the reference without any persistence: the issue-3
 * server process (rig.ts, `ours`), no journal hook at all.
 */
import { LoadGenerator, type PhaseResult, type Traffic } from './load.js';
import { startCliRig } from './cli-rig.js';
import { benchUuid, commitPayload, initialNodeBytes } from './payloads.js';
import { startRig } from './rig.js';

export interface FanoutOptions {
  k: number;
  warmupMs: number;
  measureMs: number;
  window: number;
  /** Paced phase after the saturated one (msgs/s; 0 = none). */
  rate: number;
  rateMs: number;
  /** Parent of the CLI's temp data directory. */
  tmpRoot?: string;
}

export interface FanoutRun {
  saturate: PhaseResult;
  paced?: PhaseResult;
}

const commitNode = benchUuid(1);
export const FANOUT_TRAFFIC: Traffic = { payload: commitPayload('commit200', 200), as: 'commit', uuid: commitNode };
const NODES = [{ uuid: commitNode, dataBytes: initialNodeBytes(commitNode) }];

async function drive(load: LoadGenerator, serverCpu: () => Promise<number>, opts: FanoutOptions): Promise<FanoutRun> {
  const t = FANOUT_TRAFFIC;
  await load.sync(t);
  const saturate = await load.saturate(t, {
    warmupMs: opts.warmupMs,
    measureMs: opts.measureMs,
    window: opts.window,
    serverCpu,
  });
  const paced =
    opts.rate > 0
      ? await load.paced(t, { rate: opts.rate, warmupMs: opts.warmupMs, measureMs: opts.rateMs })
      : undefined;
  return { saturate, paced };
}

/** One fresh server in `mode` (`none`, `off`, an interval in ms, `always`), one measurement. */
export async function runFanout(mode: string, opts: FanoutOptions): Promise<FanoutRun> {
  if (mode === 'none') {
    const rig = await startRig({ kind: 'ours', readers: opts.k, nodes: NODES });
    try {
      return await drive(new LoadGenerator(rig.writer, rig.readers), () => rig.server.cpuMicros(), opts);
    } finally {
      await rig.close();
    }
  }
  const rig = await startCliRig({ readers: opts.k, nodes: NODES, journalFsync: mode, tmpRoot: opts.tmpRoot });
  try {
    const cpu = async (): Promise<number> => rig.cli.cpuMicros() ?? 0;
    return await drive(new LoadGenerator(rig.writer, rig.readers), cpu, opts);
  } finally {
    await rig.close();
  }
}
