"""Python deepdiff's `base + Delta(bytes)` on the same cases as bench/delta.bench.ts.

Run with an interpreter that has deepdiff (Debian's python3-deepdiff is an older 6.x; deltas it
cannot load are reported as skipped and left out of its rate).
stdin: {"cases": [[base_b64, delta_b64], ...], "budget_ms": int, "rounds": int}
stdout: {"version": str, "usable": [index, ...], "ops": median applications/s over the usable cases}
"""
import base64
import json
import pickle
import statistics
import sys
import time

try:
    import deepdiff
    from deepdiff import Delta
except ImportError:
    json.dump({'version': None, 'usable': [], 'ops': None}, sys.stdout)
    sys.exit(0)


def main():
    req = json.load(sys.stdin)
    usable = []
    cases = []
    for i, (b, d) in enumerate(req['cases']):
        base = pickle.loads(base64.b64decode(b))  # fixture base: plain data only
        raw = base64.b64decode(d)
        try:
            base + Delta(raw)
        except Exception:
            continue
        usable.append(i)
        cases.append((base, raw))
    rates = []
    for _ in range(req['rounds']):
        n = 0
        t0 = time.perf_counter()
        while True:
            for base, raw in cases:
                base + Delta(raw)
            n += len(cases)
            el = time.perf_counter() - t0
            if el * 1000 >= req['budget_ms']:
                break
        rates.append(n / el)
    json.dump({'version': deepdiff.__version__, 'usable': usable,
               'ops': statistics.median(rates) if cases else None}, sys.stdout)


main()
