/**
 * `/metrics`: a prom-client registry (the maintained Prometheus client for Node: text format,
 * label escaping, default process metrics) whose values are read from the server at scrape time.
 * The session path never calls prom-client: the socket server and the journal count in plain
 * integers, and `collect` callbacks copy them here, so a busy session pays nothing per message for
 * the console. Names follow the Prometheus guide: base units, `_total` counters, and labels with
 * bounded values only (socket, message type, reason: never a user or node name).
 */
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValueWithName,
} from 'prom-client';

import { MessageType, messageTypeName, type MessageTypeNumber } from '../protocol/index.js';
import { FSYNC_LATENCY_BOUNDS_S as FSYNC_BOUNDS } from '../store/index.js';
import type { AdminHost, SaveResult, SocketName } from './host.js';

export const METRIC_PREFIX = 'multiuser_';
const SOCKETS: readonly SocketName[] = ['command', 'data', 'heartbeat'];

/** Save durations (s): small sessions save in ms, a 2 GB scene in tens of seconds. */
const SAVE_DURATION_BOUNDS_S = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Reasons as metric labels: `user_disconnect:NAME` loses the name; anything odd becomes `other`. */
export function saveReasonLabel(reason: string): string {
  const head = reason.split(':')[0];
  return /^[a-z][a-z_-]{0,31}$/.test(head) ? head : 'other';
}

function typeLabel(slot: number): string {
  return slot >= MessageType.Commit && slot <= MessageType.RequestServerInfo
    ? messageTypeName(slot as MessageTypeNumber)
    : 'other';
}

/** Counts kept elsewhere as per-bucket (not cumulative) integers, exported as a histogram. */
interface BucketCounts {
  readonly boundsS: readonly number[];
  readonly counts: readonly number[];
  readonly sumS: number;
}

/**
 * A histogram whose buckets are read from plain counts at scrape time instead of `observe`d:
 * prom-client has no setter for bucket counts, so the export is built here in its own format.
 */
class CountedHistogram extends Histogram<string> {
  constructor(
    private readonly metricName: string,
    private readonly helpText: string,
    registry: Registry,
    private readonly read: () => BucketCounts | null,
  ) {
    super({ name: metricName, help: helpText, registers: [registry], buckets: [] });
  }

  /** What prom-client's text formatter reads (Histogram's own shape: `_bucket` with `le`, `_sum`, `_count`). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const c = this.read();
    const name = this.metricName;
    const values: MetricValueWithName<string>[] = [];
    if (c !== null) {
      let acc = 0;
      c.boundsS.forEach((le, i) => {
        acc += c.counts[i];
        values.push({ metricName: `${name}_bucket`, labels: { le }, value: acc });
      });
      acc += c.counts[c.boundsS.length] ?? 0;
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: acc });
      values.push({ metricName: `${name}_sum`, labels: {}, value: c.sumS });
      values.push({ metricName: `${name}_count`, labels: {}, value: acc });
    }
    const object = { name, help: this.helpText, type: 'histogram', values, aggregator: 'sum' };
    return object as unknown as MetricObjectWithValues<MetricValueWithName<string>>;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    return this.getForPromString();
  }
}

export interface ConsoleMetrics {
  readonly registry: Registry;
  /** The text exposition, every value read now. */
  scrape(): Promise<string>;
  /** Every save's outcome (saves are rare: observed directly). */
  recordSave(result: SaveResult): void;
}

const EVENT_LOOP_MONITORING_MS = 100;

export function createMetrics(host: AdminHost, options: { ready: () => boolean }): ConsoleMetrics {
  const registry = new Registry();
  // prom-client samples event-loop delay with a timer of this period: its default (10 ms) woke an
  // idle server 100 times a second and doubled its idle CPU; 100 ms still shows any stall worth
  // alerting on.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_MS });
  const p = METRIC_PREFIX;
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    collect: (g: Gauge<string>) => void | Promise<void>,
  ): void => {
    new Gauge({
      name: p + name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Gauge<string>) {
        return collect(this);
      },
    });
  };
  const counter = (
    name: string,
    help: string,
    labelNames: string[],
    collect: (set: (labels: Record<string, string>, v: number) => void) => void,
  ): void => {
    new Counter({
      name: p + name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter<string>) {
        this.reset();
        collect((labels, v) => this.inc(labels, v));
      },
    });
  };

  gauge('ready', '1 when /readyz answers 200', [], (g) => g.set(options.ready() ? 1 : 0));
  gauge('users', 'Users logged in, by state', ['state'], (g) => {
    const s = host.session();
    let active = 0;
    let lobby = 0;
    for (const u of s?.listUsers() ?? []) {
      if (u.status === 'active') active++;
      else lobby++;
    }
    g.set({ state: 'active' }, active);
    g.set({ state: 'lobby' }, lobby);
  });
  gauge('nodes', 'Nodes in the session', [], (g) => g.set(host.session()?.nodeCount ?? 0));
  gauge('session_bytes', 'Pickled bytes of all node data', [], (g) => g.set(host.session()?.sessionBytes ?? 0));

  const net = () => host.net()?.stats() ?? null;
  counter('messages_received_total', 'Messages received, by socket and replication type', ['socket', 'type'], (set) => {
    const s = net();
    if (s === null) return;
    for (const socket of SOCKETS)
      s.receivedByType[socket].forEach((n, slot) => n > 0 && set({ socket, type: typeLabel(slot) }, n));
  });
  counter(
    'messages_sent_total',
    'Messages sent (one per recipient), by socket and replication type',
    ['socket', 'type'],
    (set) => {
      const s = net();
      if (s === null) return;
      for (const socket of SOCKETS)
        s.sentByType[socket].forEach((n, slot) => n > 0 && set({ socket, type: typeLabel(slot) }, n));
    },
  );
  new CountedHistogram(
    p + 'relay_latency_seconds',
    'Time from a data message arriving to its relays entering the send queues',
    registry,
    () => net()?.relayLatency ?? null,
  );
  gauge('send_queue_messages', 'Messages waiting in send queues, by socket', ['socket'], (g) => {
    const s = net();
    for (const socket of SOCKETS) g.set({ socket }, s?.send[socket].queuedMessages ?? 0);
  });
  gauge('send_queue_bytes', 'Bytes waiting in send queues, by socket', ['socket'], (g) => {
    const s = net();
    for (const socket of SOCKETS) g.set({ socket }, s?.send[socket].queuedBytes ?? 0);
  });
  counter(
    'send_queue_drops_total',
    'Clients dropped because their send queue overflowed, by socket',
    ['socket'],
    (set) => {
      const s = net();
      for (const socket of SOCKETS) set({ socket }, s?.send[socket].droppedClients ?? 0);
    },
  );
  counter('rejected_messages_total', 'Operations refused, by reason', ['reason'], (set) => {
    for (const [reason, n] of host.session()?.rejectCounts() ?? []) set({ reason }, n);
    const s = net();
    if (s !== null) {
      set({ reason: 'journal_refusing' }, s.refused);
      set({ reason: 'journal_withheld' }, s.effects.withheld);
    }
  });
  gauge('connections', 'Open TCP connections on the three session ports', [], (g) =>
    g.set(host.net()?.connectionCount ?? 0),
  );
  gauge('stranger_connections', 'Open connections whose identity has not logged in', [], (g) =>
    g.set(net()?.strangers ?? 0),
  );
  counter('connections_total', 'TCP connections since the start, by result', ['result'], (set) => {
    const s = net();
    set({ result: 'accepted' }, s?.connectionsAccepted ?? 0);
    set({ result: 'refused' }, s?.connectionsRefused ?? 0);
  });

  const journal = () => host.store()?.journalStats() ?? null;
  counter('journal_appends_total', 'Records appended to the journal', [], (set) => set({}, journal()?.appends ?? 0));
  counter('journal_appended_bytes_total', 'Bytes appended to the journal', [], (set) =>
    set({}, journal()?.appendedBytes ?? 0),
  );
  counter('journal_failures_total', 'Times the journal could not be written', [], (set) =>
    set({}, journal()?.failures ?? 0),
  );
  new CountedHistogram(p + 'journal_fsync_seconds', 'Journal fsync latency', registry, () => {
    const j = journal();
    return j === null ? null : { boundsS: FSYNC_BOUNDS, counts: j.fsyncCounts, sumS: j.fsyncSumS };
  });
  gauge('journal_writable', '1 when the journal accepts records and nothing is held in memory', [], (g) =>
    g.set(host.store()?.journal().writable === true ? 1 : 0),
  );
  gauge('journal_held_changes', 'Accepted changes held only in memory while the journal fails', [], (g) =>
    g.set(host.store()?.journal().heldInMemory ?? 0),
  );

  const saves = new Counter({
    name: p + 'saves_total',
    help: 'Snapshot saves, by reason and result',
    labelNames: ['reason', 'result'],
    registers: [registry],
  });
  const saveDuration = new Histogram({
    name: p + 'save_duration_seconds',
    help: 'Duration of successful saves',
    buckets: SAVE_DURATION_BOUNDS_S,
    registers: [registry],
  });
  const saveBytes = new Gauge({
    name: p + 'last_save_bytes',
    help: 'Size of the newest successful snapshot',
    registers: [registry],
  });
  const lastSaveAt = new Gauge({
    name: p + 'last_successful_save_timestamp_seconds',
    help: 'When the newest successful save finished (Unix time)',
    registers: [registry],
  });
  // One directory listing per scrape for both gauges (prom-client collects families in parallel).
  let listing: Promise<readonly { bytes: number }[]> | null = null;
  const backups = (): Promise<readonly { bytes: number }[]> =>
    (listing ??= host.store()?.listBackups() ?? Promise.resolve([]));
  gauge('backups', 'Backup files in DATA_DIR/backups', [], async (g) => g.set((await backups()).length));
  gauge('backups_bytes', 'Bytes of the backup files', [], async (g) =>
    g.set((await backups()).reduce((n, b) => n + b.bytes, 0)),
  );
  gauge('data_dir_free_bytes', 'Free bytes on the data directory file system (as last checked)', [], (g) => {
    const free = host.store()?.disk().freeBytes ?? null;
    if (free !== null) g.set(free);
  });

  return {
    registry,
    async scrape() {
      listing = null;
      return registry.metrics();
    },
    recordSave(result) {
      saves.inc({ reason: saveReasonLabel(result.reason), result: result.ok ? 'ok' : 'failed' });
      if (result.ok) {
        saveDuration.observe(result.durationMs / 1000);
        saveBytes.set(result.bytes);
        lastSaveAt.set(result.atMs / 1000);
      }
    },
  };
}
