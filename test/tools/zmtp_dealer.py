#!/usr/bin/env python3
"""zmtp_dealer: one libzmq DEALER (Debian's python3-zmq) against a ROUTER, for transport interop tests.

Usage: zmtp_dealer.py MODE ENDPOINT IDENTITY_HEX|- [ARG]
  echo N   send [b'', b'hello', b''], expect the ROUTER's reply, then send N messages
           [b'm', b'<i>'] and expect N messages [b'r', b'<i>'] back, in order.
  big SIZE send [b'big', <SIZE bytes: 1 first, 2 last, zeros between>], expect one reply.
  gigecho SIZE  send [b'gig', <SIZE bytes of a pattern: a 64 KiB random block repeated, each copy
           stamped with its index>], expect [b'sha256', <hex of what the ROUTER got>], then the
           same frame back [b'gig', <SIZE bytes>]; reports the SHA-256 of what was sent and of what
           came back, and the seconds each direction took. Waits up to 120 s per receive.
Prints one JSON object on stdout.
"""
import hashlib
import json
import os
import sys
import time

import zmq


def main():
    mode, endpoint, ident = sys.argv[1], sys.argv[2], sys.argv[3]
    ctx = zmq.Context()
    d = ctx.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.setsockopt(zmq.RCVTIMEO, 20000)
    d.setsockopt(zmq.SNDHWM, 0)
    d.setsockopt(zmq.RCVHWM, 0)
    if ident != '-':
        d.setsockopt(zmq.IDENTITY, bytes.fromhex(ident))
    d.connect(endpoint)
    out = {'libzmq': zmq.zmq_version()}
    if mode == 'echo':
        n = int(sys.argv[4])
        d.send_multipart([b'', b'hello', b''])
        out['reply'] = [f.decode('latin1') for f in d.recv_multipart()]
        for i in range(n):
            d.send_multipart([b'm', str(i).encode()])
        ok = 0
        for i in range(n):
            if d.recv_multipart() == [b'r', str(i).encode()]:
                ok += 1
        out['burst_in_order'] = ok
    elif mode == 'gigecho':
        size = int(sys.argv[4])
        d.setsockopt(zmq.RCVTIMEO, 120000)
        block = os.urandom(65536)
        buf = bytearray(size)  # filled in place: no second GiB while building it
        view = memoryview(buf)
        for i in range(0, size, 65536):
            n = min(65536, size - i)
            view[i : i + n] = block[:n]
            view[i : i + min(4, n)] = (i // 65536).to_bytes(4, 'big')[: min(4, n)]
        del view
        out['sent_sha256'] = hashlib.sha256(buf).hexdigest()
        t0 = time.monotonic()
        d.send_multipart([b'gig', buf], copy=False)
        del buf
        out['router_sha256'] = [f.decode('latin1') for f in d.recv_multipart()]
        out['to_router_s'] = round(time.monotonic() - t0, 2)
        t1 = time.monotonic()
        back = d.recv_multipart(copy=False)
        out['back_s'] = round(time.monotonic() - t1, 2)
        out['back_frames'] = len(back)
        out['back_first'] = back[0].bytes.decode('latin1')
        out['back_length'] = len(back[1].buffer)
        out['back_sha256'] = hashlib.sha256(back[1].buffer).hexdigest()
        del back
    elif mode == 'big':
        size = int(sys.argv[4])
        buf = bytearray(size)
        buf[0] = 1
        buf[-1] = 2
        d.send_multipart([b'big', buf], copy=False)
        del buf
        out['reply'] = [f.decode('latin1') for f in d.recv_multipart()]
    d.close()
    ctx.term()
    print(json.dumps(out))


if __name__ == '__main__':
    main()
