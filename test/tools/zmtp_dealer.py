#!/usr/bin/env python3
"""zmtp_dealer: one libzmq DEALER (Debian's python3-zmq) against a ROUTER, for transport interop tests.

Usage: zmtp_dealer.py MODE ENDPOINT IDENTITY_HEX|- [ARG]
  echo N   send [b'', b'hello', b''], expect the ROUTER's reply, then send N messages
           [b'm', b'<i>'] and expect N messages [b'r', b'<i>'] back, in order.
  big SIZE send [b'big', <SIZE bytes: 1 first, 2 last, zeros between>], expect one reply.
Prints one JSON object on stdout.
"""
import json
import sys

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
