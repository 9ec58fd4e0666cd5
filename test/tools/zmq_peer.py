#!/usr/bin/env python3
"""zmq_peer: raw replication 0.9.10 clients in CPython, for interop tests. stdlib + pyzmq only.

Each peer is a set of DEALER sockets with one 16-byte routing identity on the
command, data and heartbeat ports, as the add-on connects. The peers send the
frames they are given and check, in CPython, that what the server sends back
decodes to the expected values. Nothing the server sends is ever passed to
pickle.loads: pickles are read with pyref.py's restricted readers (strict: no
global, no persistent id; symbolic for deltas, which name allow-listed
globals) and compared as JSON views with pyref.views_equal.

Input: one JSON document on stdin:

  {"servers": {"main": {"command": "tcp://127.0.0.1:P", "data": "...", "heartbeat": "..."}},
   "peers": {"A": {"server": "main", "identity_hex": "<32 hex digits>"}},
   "timeout_ms": 5000,
   "steps": [
     {"op": "send", "peer": "A", "socket": "command", "frames_b64": ["...", ...]},
     {"op": "expect", "peer": "A", "socket": "command", "frames_b64": [...],
      "compare": "view" | "bytes", "ignore_latency": false, "node_chunks": false},
     {"op": "expect_heartbeat", "peer": "A", "text": "PING"},
     {"op": "close", "peer": "A"}
   ]}

Every step may carry a "name"; an expect's "frames_b64" is the expected
message (a captured server reply). "view" compares the type, the text frames
and the decoded pickles; "bytes" demands identical frames. UpdateClientsState
messages (heartbeat-tick user lists) are skipped while waiting for anything
else; a user-list expectation skips lists until one matches. "ignore_latency"
zeroes the measured latencies; "node_chunks" also checks that a (Server)
Snapshot SET carries DATA as a list of 5 bytes whose data pickle is the
expected one byte for byte. PINGs are answered with PONG, as the add-on's
heartbeat process does.

Output: one JSON object on stdout, {"ok": bool, "steps": [{"i", "name", "ok", "error"?}]};
the exit status is 0 when every step passed, 1 otherwise.
"""

import base64
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pyref  # noqa: E402  (needs the path above)
import zmq  # noqa: E402

SOCKETS = ('command', 'data', 'heartbeat')
COMMIT, NODE, SNAPSHOT, SERVER_SNAPSHOT, USER_LIST = 1, 2, 7, 8, 12


class StepFailed(Exception):
    pass


def read_pickle(data, mode='strict'):
    """A server frame through pyref's restricted reader: never executes anything."""
    return pyref.decode(data, mode)


def type_of(frames):
    value = read_pickle(frames[0])
    if type(value) is not int:
        raise StepFailed('frame 0 is a %s, not an int' % type(value).__name__)
    return value


def frame_roles(kind):
    """How each frame of a message of this type is read: text, pickle, or delta (symbolic pickle)."""
    if kind == COMMIT:
        return ('pickle', 'text', 'pickle', 'delta')
    if kind == NODE:
        return ('pickle', 'text', 'text', 'pickle', 'pickle')
    return ('pickle', 'text', 'pickle')


def frame_views(frames, ignore_latency):
    kind = type_of(frames)
    roles = frame_roles(kind)
    if len(frames) != len(roles):  # an extra trailing frame is a defect too, not noise to skip
        raise StepFailed('%d frames for type %d, expected %d' % (len(frames), kind, len(roles)))
    views = []
    for role, frame in zip(roles, frames):
        if role == 'text':
            views.append(frame.decode('utf-8'))
        else:
            views.append(pyref.to_view(read_pickle(frame, 'symbolic' if role == 'delta' else 'strict')))
    if ignore_latency and kind == USER_LIST and isinstance(views[2], dict):
        for record in views[2].values():
            if isinstance(record, dict) and 'latency' in record:
                record['latency'] = 0
    return kind, views


def check_node_chunks(got, want):
    """Snapshot / ServerSnapshot SET: DATA is a list of 5 bytes, and the data pickle is the expected one."""
    got_data = read_pickle(got[2])
    want_data = read_pickle(want[2])
    chunks = got_data.get('DATA') if type(got_data) is dict else None
    if type(chunks) is not list or len(chunks) != 5 or not all(type(c) is bytes for c in chunks):
        raise StepFailed('DATA is not a list of 5 bytes: %r' % (type(chunks).__name__,))
    if chunks[4] != want_data['DATA'][4]:
        raise StepFailed('the node data pickle differs from the captured one')
    if type_of(chunks) != NODE:
        raise StepFailed('DATA chunk 0 is not the Node type')


class Peer:
    def __init__(self, ctx, poller, name, spec, servers):
        self.name = name
        self.poller = poller
        self.sockets = {}
        self.inbox = {s: collections.deque() for s in SOCKETS}
        identity = bytes.fromhex(spec['identity_hex'])
        for s in SOCKETS:
            sock = ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.IDENTITY, identity)
            sock.connect(servers[spec['server']][s])
            poller.register(sock, zmq.POLLIN)
            self.sockets[s] = sock

    def close(self):
        for sock in self.sockets.values():
            self.poller.unregister(sock)
            sock.close(linger=0)
        self.sockets = {}


class Runner:
    def __init__(self, doc):
        self.ctx = zmq.Context()
        self.poller = zmq.Poller()
        self.timeout_s = doc.get('timeout_ms', 5000) / 1000.0
        self.peers = {name: Peer(self.ctx, self.poller, name, spec, doc['servers'])
                      for name, spec in doc['peers'].items()}
        self.owner = {}
        for peer in self.peers.values():
            for s, sock in peer.sockets.items():
                self.owner[sock] = (peer, s)

    def pump(self, wait_s):
        """Receives whatever is there (waiting up to wait_s), answering PINGs."""
        for sock, _ in self.poller.poll(max(0, int(wait_s * 1000))):
            peer, s = self.owner[sock]
            while True:
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if s == 'heartbeat' and frames == [b'PING']:
                    sock.send(b'PONG')
                peer.inbox[s].append(frames)

    def next_message(self, peer, s, deadline):
        while not peer.inbox[s]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StepFailed('nothing on %s/%s before the deadline' % (peer.name, s))
            self.pump(left)
        return peer.inbox[s].popleft()

    def expect(self, step):
        peer = self.peers[step['peer']]
        s = step['socket']
        want = [base64.b64decode(f) for f in step['frames_b64']]
        ignore = step.get('ignore_latency', False)
        want_kind, want_views = frame_views(want, ignore)
        deadline = time.monotonic() + self.timeout_s
        last = None
        while True:
            try:
                got = self.next_message(peer, s, deadline)
            except StepFailed:
                if last is None:
                    raise
                raise StepFailed('no matching user list; the last was %s' % last)
            kind, views = frame_views(got, ignore)
            if kind == USER_LIST and want_kind != USER_LIST:
                continue  # a heartbeat-tick user list
            if kind != want_kind:
                raise StepFailed('got type %d, expected %d: %s' % (kind, want_kind, pyref.compact(views)[:500]))
            if step.get('compare') == 'bytes':
                if got[:len(want)] != want or len(got) != len(want):
                    raise StepFailed('frames differ from the expected bytes')
            elif not all(pyref.views_equal(a, b) for a, b in zip(views, want_views)):
                if kind == USER_LIST:
                    last = pyref.compact(views)[:800]
                    continue  # an older user list; the expected one may still come
                raise StepFailed('got %s, expected %s' % (pyref.compact(views)[:800], pyref.compact(want_views)[:800]))
            if step.get('node_chunks'):
                check_node_chunks(got, want)
            return

    def expect_heartbeat(self, step):
        peer = self.peers[step['peer']]
        deadline = time.monotonic() + self.timeout_s
        frames = self.next_message(peer, 'heartbeat', deadline)
        if frames != [step['text'].encode('ascii')]:
            raise StepFailed('heartbeat got %r' % (frames,))

    def run_step(self, step):
        op = step['op']
        if op == 'send':
            frames = [base64.b64decode(f) for f in step['frames_b64']]
            self.peers[step['peer']].sockets[step['socket']].send_multipart(frames)
        elif op == 'expect':
            self.expect(step)
        elif op == 'expect_heartbeat':
            self.expect_heartbeat(step)
        elif op == 'close':
            peer = self.peers[step['peer']]
            for sock in peer.sockets.values():
                del self.owner[sock]
            peer.close()
        else:
            raise StepFailed('unknown op %r' % (op,))

    def run(self, steps):
        report = []
        for i, step in enumerate(steps):
            entry = {'i': i, 'name': step.get('name', step['op'])}
            try:
                self.run_step(step)
                entry['ok'] = True
            except Exception as exc:  # one failed step is reported; later steps depend on it
                entry['ok'] = False
                entry['error'] = '%s: %s' % (type(exc).__name__, exc)
                report.append(entry)
                break
            report.append(entry)
        return report

    def close(self):
        for peer in self.peers.values():
            peer.close()
        self.ctx.term()


def main():
    doc = json.load(sys.stdin)
    runner = Runner(doc)
    try:
        report = runner.run(doc['steps'])
    finally:
        runner.close()
    ok = len(report) == len(doc['steps']) and all(e['ok'] for e in report)
    sys.stdout.write(json.dumps({'ok': ok, 'steps': report}) + '\n')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
