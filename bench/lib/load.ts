/**
 * The fan-out load generator: one writer and K readers, all our `ReplicationClient`s in this
 * process, against a server in another process (server-process.ts). Writer and readers share one
 * clock, so a message's latency is its arrival time minus the send time stamped in it
 * (payloads.ts). The same generator drives our server and the bare relay.
 *
 * - `saturate`: a closed loop. The writer keeps at most `window` messages in flight (sent, not yet
 *   received by the slowest reader), refilling when half of them have arrived; the delivered rate
 *   per reader is measured after a warm-up.
 * - `paced`: the writer offers a fixed rate (timer ticks of ~1 ms, each sending what is due), and
 *   every reader records the latency of every message after a warm-up.
 * Both then wait for the stragglers and count loss: every message carries its sequence number, a
 * reader counts the numbers it never saw (missing) and the ones that came late (out of order).
 */
import { encodeCommitPush, encodeNodePush, type ReplicationClient } from '../../src/client/index.js';
import { MessageType, OWNER_COMMON, typeFrame } from '../../src/protocol/index.js';
import { percentile } from './harness.js';
import type { Stamp, StampedPayload } from './payloads.js';

/** What a phase sends: a payload kind and whether it travels as a Commit or as a whole Node. */
export interface Traffic {
  readonly payload: StampedPayload;
  readonly as: 'commit' | 'node';
  /** The node the messages are about. */
  readonly uuid: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const COMMIT_TYPE = typeFrame(MessageType.Commit);
const EMPTY = Buffer.alloc(0);
const NODE_TYPE = typeFrame(MessageType.Node);

/**
 * One reader's bookkeeping. It takes the relayed messages straight off the client's data socket
 * (`dataTap`), as raw frames: a message of the phase's traffic is recognised by its type frame and
 * its node id frame, compared byte for byte, and its stamp is read at the payload's fixed offsets
 * (payloads.ts) — no pickle decoding, no delta applied to a local store. Decoding and applying each
 * message once per reader cost the generator ~110 µs of CPU per sent message at K = 16, more than
 * the server it measures. Anything else on the data socket (another node, a payload of another
 * size or layout, an earlier phase) counts as stray, so a server that relays garbage is noticed.
 */
export class Reader {
  private phase = -1;
  private traffic: Traffic | undefined;
  private typeBytes: Buffer = COMMIT_TYPE;
  private uuidBytes: Buffer = Buffer.alloc(0);
  private payloadFrame = 3;
  private readonly stamp: Stamp = { seq: 0, sentAt: 0, phase: 0 };
  /** The next in-order sequence number; also the count of in-order deliveries. */
  expected = 0;
  received = 0;
  missing = 0;
  outOfOrder = 0;
  stray = 0;
  private latencies = new Float64Array(0);
  latencyCount = 0;
  private recordFromSeq = Infinity;

  constructor(
    readonly client: ReplicationClient,
    private readonly onProgress: () => void,
  ) {
    client.dataTap = (frames) => {
      this.onFrames(frames);
      return true;
    };
  }

  start(phase: number, traffic: Traffic, recordFromSeq: number, latencyCapacity: number): void {
    this.phase = phase;
    this.traffic = traffic;
    this.typeBytes = traffic.as === 'commit' ? COMMIT_TYPE : NODE_TYPE;
    this.uuidBytes = Buffer.from(traffic.uuid, 'utf8');
    // Commit: type, node id, deps, delta. Node: type, uuid, owner, deps, data.
    this.payloadFrame = traffic.as === 'commit' ? 3 : 4;
    this.expected = 0;
    this.received = 0;
    this.missing = 0;
    this.outOfOrder = 0;
    this.stray = 0;
    this.recordFromSeq = recordFromSeq;
    if (this.latencies.length < latencyCapacity) this.latencies = new Float64Array(latencyCapacity);
    this.latencyCount = 0;
  }

  latencySamples(): Float64Array {
    return this.latencies.subarray(0, this.latencyCount);
  }

  private onFrames(frames: readonly Buffer[]): void {
    const t = this.traffic;
    if (t === undefined) return;
    const now = performance.now();
    if (
      frames.length <= this.payloadFrame ||
      !frames[0].equals(this.typeBytes) ||
      !frames[1].equals(this.uuidBytes) ||
      frames[this.payloadFrame].length !== t.payload.bytes
    ) {
      this.stray++;
      return;
    }
    const s = t.payload.read(frames[this.payloadFrame], this.stamp);
    if (s.phase !== this.phase) {
      this.stray++;
      return;
    }
    this.received++;
    if (s.seq === this.expected) this.expected++;
    else if (s.seq > this.expected) {
      this.missing += s.seq - this.expected;
      this.expected = s.seq + 1;
    } else this.outOfOrder++;
    if (s.seq >= this.recordFromSeq && this.latencyCount < this.latencies.length) {
      this.latencies[this.latencyCount++] = now - s.sentAt;
    }
    this.onProgress();
  }
}

export interface PhaseResult {
  /** Messages the writer sent. */
  sent: number;
  /** Offered rate over the sending time (msgs/s). */
  offeredPerS: number;
  /** Mean over readers of messages delivered per second in the measured window. */
  deliveredPerReaderPerS: number;
  /** The slowest reader's rate in that window. */
  slowestReaderPerS: number;
  missing: number;
  outOfOrder: number;
  stray: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** CPU µs per message the writer sent, in the measured window: server process, this process. */
  serverCpuUsPerMsg?: number;
  generatorCpuUsPerMsg?: number;
  /** Share of one core the server process used in the measured window. */
  serverCpuLoad?: number;
  /** Share of a core a busy loop got just before the phase (fanout.bench.ts). */
  coreShare?: number;
}

/** CPU time (µs) of the server process, for per-message costs. */
export type CpuProbe = () => Promise<number>;

const ownCpu = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

export class LoadGenerator {
  private phase = 0;
  private wake: (() => void) | null = null;
  readonly readers: Reader[];

  constructor(
    private readonly writer: ReplicationClient,
    readerClients: readonly ReplicationClient[],
  ) {
    this.readers = readerClients.map((c) => new Reader(c, () => this.progress()));
  }

  private progress(): void {
    const w = this.wake;
    if (w !== null) {
      this.wake = null;
      w();
    }
  }

  private nextProgress(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, maxMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private minExpected(): number {
    let min = Infinity;
    for (const r of this.readers) if (r.expected < min) min = r.expected;
    return min;
  }

  private sumReceived(): number {
    let n = 0;
    for (const r of this.readers) n += r.received;
    return n;
  }

  /**
   * A Commit or Node of the traffic with a fresh stamp, as the frames `pushCommit` / `pushNode`
   * would send (dependencies `[]`, owner COMMON), built from constant frames and the payload: the
   * writer's local store is not updated, it only ever sends.
   */
  private message(t: Traffic, seq: number): Uint8Array[] {
    const bytes = t.payload.encode({ seq, sentAt: performance.now(), phase: this.phase });
    return [...this.headFrames(t), bytes];
  }

  /** Sends messages `from` to `to - 1` of the traffic as one burst (one system call). */
  private sendRange(t: Traffic, from: number, to: number): void {
    const burst: Uint8Array[][] = [];
    for (let seq = from; seq < to; seq++) burst.push(this.message(t, seq));
    const sent = this.writer.sendBatch('data', burst);
    sent.catch((err: unknown) => process.stderr.write(`writer send failed: ${String(err)}\n`));
  }

  private head: { t: Traffic; frames: Buffer[] } | undefined;

  /** The frames before the payload: type, node id, (owner,) dependencies. */
  private headFrames(t: Traffic): Buffer[] {
    if (this.head?.t !== t) {
      const frames =
        t.as === 'commit'
          ? encodeCommitPush({ nodeId: t.uuid, deps: [], deltaBytes: EMPTY })
          : encodeNodePush({ uuid: t.uuid, owner: OWNER_COMMON, deps: [], dataBytes: EMPTY });
      this.head = { t, frames: frames.slice(0, -1) };
    }
    return this.head.frames;
  }

  private begin(t: Traffic, recordFromSeq: number, latencyCapacity: number): number {
    this.phase++;
    for (const r of this.readers) r.start(this.phase, t, recordFromSeq, latencyCapacity);
    return this.phase;
  }

  /**
   * Sends until every reader got one message of this phase (a relay without `mandatory` drops
   * messages for a reader whose data socket is not connected yet). Throws after `timeoutMs`.
   */
  async sync(t: Traffic, timeoutMs = 10_000): Promise<void> {
    this.begin(t, Infinity, 0);
    const deadline = performance.now() + timeoutMs;
    for (let seq = 0; this.readers.some((r) => r.received === 0); seq++) {
      if (performance.now() > deadline) throw new Error('readers did not receive anything');
      this.sendRange(t, seq, seq + 1);
      await sleep(20);
    }
    await sleep(50); // let the remaining sync messages arrive before the next phase starts
  }

  async saturate(
    t: Traffic,
    opts: { warmupMs: number; measureMs: number; window: number; serverCpu?: CpuProbe },
  ): Promise<PhaseResult> {
    this.begin(t, Infinity, 0);
    const t0 = performance.now();
    const measureFrom = t0 + opts.warmupMs;
    // The measured window starts once the server's CPU probe has answered (an IPC round trip that
    // can take seconds on a loaded machine) and lasts `measureMs` from there; before, a slow probe
    // could leave a window of a few milliseconds, reported as a stall.
    let end = measureFrom + opts.measureMs;
    let seq = 0;
    type Mark = { at: number; sum: number; perReader: number[]; cpu: number; serverCpu: number | undefined };
    let mark: Mark | undefined;
    for (let now = t0; now < end; now = performance.now()) {
      if (mark === undefined && now >= measureFrom) {
        const serverCpu = await opts.serverCpu?.();
        mark = {
          at: performance.now(),
          sum: this.sumReceived(),
          perReader: this.readers.map((r) => r.received),
          cpu: ownCpu(),
          serverCpu,
        };
        end = mark.at + opts.measureMs;
      }
      const floor = this.minExpected();
      if (seq - floor <= opts.window / 2) {
        this.sendRange(t, seq, floor + opts.window);
        seq = floor + opts.window;
      }
      await this.nextProgress(5);
    }
    const tEnd = performance.now();
    const delivered = this.sumReceived() - (mark?.sum ?? 0);
    const receivedAtEnd = this.readers.map((r) => r.received);
    const cpuEnd = ownCpu();
    const serverCpuEnd = mark?.serverCpu === undefined ? undefined : await opts.serverCpu?.();
    const seconds = (tEnd - (mark?.at ?? t0)) / 1000;
    const deliveredPerReaderPerS = delivered / this.readers.length / seconds;
    const slowestReaderPerS = Math.min(...receivedAtEnd.map((n, i) => n - (mark?.perReader[i] ?? 0))) / seconds;
    const result = await this.finish(seq, (tEnd - t0) / 1000, deliveredPerReaderPerS, slowestReaderPerS);
    const messages = delivered / this.readers.length;
    if (mark !== undefined && messages > 0) {
      result.generatorCpuUsPerMsg = Math.round(((cpuEnd - mark.cpu) / messages) * 10) / 10;
      if (serverCpuEnd !== undefined && mark.serverCpu !== undefined) {
        result.serverCpuUsPerMsg = Math.round(((serverCpuEnd - mark.serverCpu) / messages) * 10) / 10;
        result.serverCpuLoad = Math.round(((serverCpuEnd - mark.serverCpu) / 1e6 / seconds) * 100) / 100;
      }
    }
    return result;
  }

  /**
   * With `serverCpu`, also the server's CPU time per message over the whole phase (warm-up and
   * stragglers included): at a rate the server keeps up with, the least noisy cost figure, since
   * it does not depend on how much CPU the machine leaves the server.
   */
  async paced(
    t: Traffic,
    opts: { rate: number; warmupMs: number; measureMs: number; serverCpu?: CpuProbe },
  ): Promise<PhaseResult> {
    const total = Math.ceil((opts.rate * (opts.warmupMs + opts.measureMs)) / 1000);
    const recordFrom = Math.floor((opts.rate * opts.warmupMs) / 1000);
    this.begin(t, recordFrom, total - recordFrom + 16);
    const cpu0 = await opts.serverCpu?.();
    const t0 = performance.now();
    const durationMs = opts.warmupMs + opts.measureMs;
    let seq = 0;
    for (let el = 0; el < durationMs; el = performance.now() - t0) {
      const due = Math.min(total, Math.floor((el * opts.rate) / 1000) + 1);
      if (seq < due) {
        this.sendRange(t, seq, due);
        seq = due;
      }
      await sleep(1);
    }
    const sendSeconds = (performance.now() - t0) / 1000;
    const measured = opts.measureMs / 1000;
    const perReader = this.readers.map((r) => Math.max(0, r.received - recordFrom) / measured);
    const mean = perReader.reduce((a, b) => a + b, 0) / perReader.length;
    const result = await this.finish(seq, sendSeconds, mean, Math.min(...perReader));
    const cpu1 = cpu0 === undefined ? undefined : await opts.serverCpu?.();
    if (cpu0 !== undefined && cpu1 !== undefined && seq > 0) {
      result.serverCpuUsPerMsg = Math.round(((cpu1 - cpu0) / seq) * 10) / 10;
    }
    return result;
  }

  /** Waits up to 10 s for every reader to reach the last message, then counts loss and latency. */
  private async finish(sent: number, sendSeconds: number, mean: number, slowest: number): Promise<PhaseResult> {
    const deadline = performance.now() + 10_000;
    while (this.minExpected() < sent && performance.now() < deadline) await sleep(5);
    let missing = 0;
    let outOfOrder = 0;
    let stray = 0;
    const samples: number[] = [];
    let max = -Infinity;
    for (const r of this.readers) {
      missing += r.missing + Math.max(0, sent - r.expected);
      outOfOrder += r.outOfOrder;
      stray += r.stray;
      for (const v of r.latencySamples()) {
        samples.push(v);
        if (v > max) max = v;
      }
    }
    const round = (v: number): number => Math.round(v * 100) / 100;
    return {
      sent,
      offeredPerS: Math.round(sent / sendSeconds),
      deliveredPerReaderPerS: Math.round(mean),
      slowestReaderPerS: Math.round(slowest),
      missing,
      outOfOrder,
      stray,
      p50Ms: samples.length > 0 ? round(percentile(samples, 50)) : null,
      p99Ms: samples.length > 0 ? round(percentile(samples, 99)) : null,
      maxMs: samples.length > 0 ? round(max) : null,
    };
  }
}
