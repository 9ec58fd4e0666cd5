/**
 * CPython as the client: Debian's python3-zmq (for /usr/bin/python3, not the pyenv python3 on
 * PATH) drives raw DEALERs with captured identities through test/tools/zmq_peer.py, sends the
 * captured frames of the reference client, and checks in CPython — with pyref.py's restricted
 * readers, never `pickle.loads` — that our replies decode to what the reference server answered
 * (views compared with pyref.views_equal). CI installs python3-zmq (.ci/run); without it these
 * tests fail, they do not skip.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { channelEndpoints } from '../../src/net/index.js';
import { PyDict } from '../../src/pickle/index.js';
import { decodeMessage, MessageType } from '../../src/protocol/index.js';
import { startTestServer, type TestServer } from './harness.js';
import { framesOf, loadCapture, type Capture, type CaptureRecord } from './replay.js';

const PYTHON = '/usr/bin/python3';
/** The script in the source tree (tests run from dist/test/integration; .py files are not compiled). */
const ZMQ_PEER = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'tools', 'zmq_peer.py');
const PYTHON_DEADLINE_MS = 30_000;

interface PythonRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs /usr/bin/python3 without blocking the event loop (our server lives in this process). */
function runPython(args: string[], input: string): Promise<PythonRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), PYTHON_DEADLINE_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${PYTHON}: ${err.message}`));
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

let zmqCheck: Promise<void> | undefined;
/** Fails with what to install when Debian's python3-zmq is missing. */
function requireZmq(): Promise<void> {
  zmqCheck ??= runPython(['-c', 'import zmq'], '').then((r) => {
    if (r.status !== 0) {
      throw new Error(
        `${PYTHON} cannot import zmq: install Debian's python3-zmq ("apt-get install -y python3-zmq", as .ci/run does). ${r.stderr.trim()}`,
      );
    }
  });
  return zmqCheck;
}

interface PeerStep {
  name: string;
  op: 'send' | 'expect' | 'expect_heartbeat' | 'close';
  peer: string;
  [key: string]: unknown;
}

interface Report {
  ok: boolean;
  steps: { i: number; name: string; ok: boolean; error?: string }[];
}

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(serverPassword = ''): Promise<TestServer> {
  const ts = await startTestServer({ adminPassword: 'admin', serverPassword });
  servers.push(ts);
  return ts;
}

/** zmq_peer.py over the given servers and peers; resolves with its report. */
async function runPeers(
  endpoints: Record<string, TestServer>,
  peers: Record<string, { server: string; identity_hex: string }>,
  steps: PeerStep[],
): Promise<Report> {
  await requireZmq();
  const doc = {
    servers: Object.fromEntries(
      Object.entries(endpoints).map(([name, ts]) => [name, channelEndpoints('127.0.0.1', ts.port)]),
    ),
    peers,
    timeout_ms: 5000,
    steps,
  };
  const run = await runPython([ZMQ_PEER], JSON.stringify(doc));
  if (run.stdout.trim() === '') throw new Error(`zmq_peer.py printed no report (status ${run.status}):\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as Report;
  assert.equal(report.steps.length > 0, true);
  return report;
}

/** Asserts that every step whose name starts with `prefix` ran and passed. */
function assertPassed(report: Report, steps: PeerStep[], prefix: string): void {
  const wanted = steps.flatMap((s, i) => (s.name.startsWith(prefix) ? [i] : []));
  assert.ok(wanted.length > 0, `no steps named ${prefix}`);
  const failed = report.steps.find((s) => !s.ok);
  for (const i of wanted) {
    const got = report.steps.find((s) => s.i === i);
    assert.ok(
      got?.ok === true,
      `step ${i} (${steps[i].name}) ${got === undefined ? `never ran (failed before: ${JSON.stringify(failed)})` : `failed: ${got.error}`}`,
    );
  }
}

const socketOf = (r: CaptureRecord): string => (r.socket === 'ttl' ? 'heartbeat' : r.socket);

/** A captured client message as a send step, or a captured server message as an expectation. */
function stepOf(c: Capture, at: number, peer: string, name: string): PeerStep {
  const r = c.records[at];
  if (r.dir === 'c2s') return { name, op: 'send', peer, socket: socketOf(r), frames_b64: r.frames_b64 };
  return {
    name,
    op: 'expect',
    peer,
    socket: socketOf(r),
    frames_b64: r.frames_b64,
    // Latency is measured, not protocol; the user lists of the capture show the reference's.
    ignore_latency: r.type_num === 12,
    node_chunks: isSet(framesOf(r)),
  };
}

/** A Snapshot or ServerSnapshot SET: a node travels inside as a list of 5 bytes (§2.3). */
function isSet(frames: Buffer[]): boolean {
  const msg = decodeMessage(frames);
  return (
    (msg.type === MessageType.Snapshot || msg.type === MessageType.ServerSnapshot) &&
    msg.data instanceof PyDict &&
    msg.data.get('STATE') === 'SET'
  );
}

/** Records `from`..`to` (inclusive) of the capture, heartbeat and excluded clients left out. */
function stepsOf(c: Capture, from: number, to: number, name: string, skip: string[] = []): PeerStep[] {
  const out: PeerStep[] = [];
  for (let at = from; at <= to; at++) {
    const r = c.records[at];
    if (r.socket === 'ttl' || skip.includes(r.client) || r.undelivered === true) continue;
    out.push(stepOf(c, at, r.client, `${name} #${at}`));
  }
  return out;
}

function peersOf(
  c: Capture,
  serverName: string,
  labels: string[],
): Record<string, { server: string; identity_hex: string }> {
  return Object.fromEntries(labels.map((l) => [l, { server: serverName, identity_hex: c.clients[l].identity_hex }]));
}

describe('a CPython client (python3-zmq) against our server', () => {
  test('Debian python3 can import zmq', async () => {
    await requireZmq();
  });

  test('a public server answers RequestServerInfo with private False, read in CPython', async () => {
    const c = loadCapture('05_auth_spwd_empty'); // the reference with -spwd '', a public server
    const steps = stepsOf(c, 0, 1, 'info');
    const report = await runPeers({ main: await server() }, peersOf(c, 'main', ['G']), steps);
    assertPassed(report, steps, 'info');
  });

  test('captured Auth requests get the reference reply strings and user lists, read in CPython', async () => {
    // 03: the reference with the password "None"; our public server accepts None and 'None' as
    // it did, so every reply matches — except G's (private: True there) and A2's ('' refused
    // there, accepted by a public server), which are left out.
    const open = loadCapture('03_auth_spwd_none');
    const secret = loadCapture('04_auth_spwd_secret');
    const openLabels = ['A1', 'A3', 'A4', 'A5', 'D1', 'E1', 'F1', 'H1'];
    const steps = [...stepsOf(open, 0, 33, 'public', ['G', 'A2']), ...stepsOf(secret, 0, 8, 'secret')];
    const report = await runPeers(
      { public: await server(), secret: await server('secret') },
      { ...peersOf(open, 'public', openLabels), ...peersOf(secret, 'secret', ['G', 'A1', 'A2', 'A3']) },
      steps,
    );
    assertPassed(report, steps, 'public');
    assertPassed(report, steps, 'secret');
  });

  test('two CPython clients: init with the captured scene, join, a relayed Commit and the heartbeat', async (t) => {
    const c = loadCapture('01_main_session');
    const commit = c.records[42];
    const relay = c.records[43];
    assert.deepEqual(relay.frames_b64, commit.frames_b64, 'the capture relays the Commit unchanged');
    const steps: PeerStep[] = [
      // A: Auth, ServerSnapshot INIT / ACCEPTED / SET×5 / END / DONE, user list.
      ...stepsOf(c, 0, 12, 'init'),
      // B: Auth, RUNNING, REQUEST_INIT / INIT catalog / GET / SET per node / DONE, user lists.
      ...stepsOf(c, 13, 31, 'join'),
      stepOf(c, 42, 'A', 'relay: A pushes the captured Commit'),
      { ...stepOf(c, 43, 'B', 'relay: B gets it byte for byte'), compare: 'bytes' },
      { name: 'heartbeat: INIT', op: 'send', peer: 'A', socket: 'heartbeat', frames_b64: ['SU5JVA=='] },
      { name: 'heartbeat: PING', op: 'expect_heartbeat', peer: 'A', text: 'PING' },
    ];
    const sets = steps.filter((s) => s.node_chunks === true);
    assert.equal(sets.length, 5, 'the five snapshot SETs are checked chunk by chunk');
    const report = await runPeers({ main: await server() }, peersOf(c, 'main', ['A', 'B']), steps);
    await t.test('the admin initialises the session with the 5-node scene', () => assertPassed(report, steps, 'init'));
    await t.test('a second client joins and gets every node as 5 bytes chunks with the captured data', () =>
      assertPassed(report, steps, 'join'),
    );
    await t.test('the captured Commit is relayed byte-identical', () => assertPassed(report, steps, 'relay'));
    await t.test('heartbeat INIT is answered with PING', () => assertPassed(report, steps, 'heartbeat'));
    assert.equal(report.ok, true);
  });
});
