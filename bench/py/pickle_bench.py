"""CPython's C pickle on the same data as bench/pickle.bench.ts, for a ratio in the same run.

stdin: {"datasets": {name: [base64 pickle, ...]}, "budget_ms": int, "rounds": int}
stdout: {name: {"decode_ops": median ops/s, "encode_ops": median ops/s}}  (one op = the whole dataset)
The pickles are our own benchmark data (plain values only), so loading them is safe.
"""
import base64
import json
import pickle
import statistics
import sys
import time


def rate(body, budget_ms, rounds):
    body()
    rates = []
    for _ in range(rounds):
        n = 0
        t0 = time.perf_counter()
        while True:
            body()
            n += 1
            el = time.perf_counter() - t0
            if el * 1000 >= budget_ms:
                break
        rates.append(n / el)
    return statistics.median(rates)


def main():
    req = json.load(sys.stdin)
    out = {}
    for name, items in req['datasets'].items():
        blobs = [base64.b64decode(b) for b in items]
        values = [pickle.loads(b) for b in blobs]
        dec = rate(lambda: [pickle.loads(b) for b in blobs], req['budget_ms'], req['rounds'])
        enc = rate(lambda: [pickle.dumps(v, protocol=4) for v in values], req['budget_ms'], req['rounds'])
        out[name] = {'decode_ops': dec, 'encode_ops': enc}
    json.dump(out, sys.stdout)


main()
