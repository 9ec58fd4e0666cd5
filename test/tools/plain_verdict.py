#!/usr/bin/env python3
"""plain_verdict: what a client's `pickle.loads` makes of each pickle. Standard library only.

    python3 plain_verdict.py < lines

Input: one base64 pickle per line (an empty line is an empty pickle). Output: one JSON line per input line:
{"ok": true, "type": "<type of the result>", "plain": <bool>, "exact": <bool>} or
{"ok": false, "error": "<Type>", "exact": <bool>}, or {"skipped": true} for a pickle that stores
into the memo past index 100,000 (CPython would allocate twice that many slots).

Nothing named in a pickle is ever imported or called. When `pickletools.genops` walks the whole
pickle and finds no opcode that names a global (GLOBAL, STACK_GLOBAL, INST, EXT1/2/4), the
verdict is `pickle.loads` itself, exactly what the add-on runs ("exact": true): without a global
nothing on the stack is callable. Otherwise it is CPython's C unpickler with every global and
persistent id refused, reading from a file ("exact": false): that path also enforces FRAME
boundaries, which `pickle.loads` on bytes does not. "plain" says
whether the result holds only dict, list, tuple, set, frozenset, str, bytes, int, float, bool
and None (cycles and shared objects are visited once).
"""

import base64
import io
import json
import pickle
import pickletools
import resource
import sys

PLAIN_LEAVES = (str, bytes, int, float, bool, type(None))
CONTAINERS = (dict, list, tuple, set, frozenset)


class Refused(pickle.UnpicklingError):
    pass


class StrictLoader(pickle.Unpickler):
    def find_class(self, module, name):
        raise Refused('global %s.%s refused' % (module, name))

    def persistent_load(self, pid):
        raise Refused('persistent id refused')


def is_plain(value):
    seen = set()
    todo = [value]
    while todo:
        v = todo.pop()
        t = type(v)
        if t in PLAIN_LEAVES:
            continue
        if t not in CONTAINERS:
            return False
        if id(v) in seen:
            continue
        seen.add(id(v))
        if t is dict:
            for k, x in v.items():
                todo.append(k)
                todo.append(x)
        else:
            todo.extend(v)
    return True


NAMES_A_GLOBAL = {'GLOBAL', 'STACK_GLOBAL', 'INST', 'EXT1', 'EXT2', 'EXT4'}


def names_no_global(data):
    """True when the opcodes up to STOP parse and none of them can name a global."""
    try:
        for opcode, _arg, _pos in pickletools.genops(data):
            if opcode.name in NAMES_A_GLOBAL:
                return False
    except Exception:  # unparsable: cannot prove anything
        return False
    return True


HUGE_MEMO_INDEX = 100_000


def memo_hazard(data):
    """Whether loading could make CPython allocate a memo of twice a huge PUT index: skipped.

    Only the opcodes `genops` can parse are looked at; the unpickler stops at the same malformed
    opcode, and the address-space limit in `main` turns anything missed into a MemoryError.
    """
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            if opcode.name in ('PUT', 'BINPUT', 'LONG_BINPUT') and arg > HUGE_MEMO_INDEX:
                return True
    except Exception:
        pass
    return False


def verdict(data):
    if memo_hazard(data):
        return {'skipped': True}
    exact = names_no_global(data)
    try:
        value = pickle.loads(data) if exact else StrictLoader(io.BytesIO(data)).load()
    except Exception as exc:  # hostile input is reported, never fatal
        return {'ok': False, 'error': type(exc).__name__, 'exact': exact}
    return {'ok': True, 'type': type(value).__name__, 'plain': is_plain(value), 'exact': exact}


def main():
    # Whatever a pickle asks for, this process stays within 2 GB (MemoryError, not a swapping machine).
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    lines = sys.stdin.read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    for line in lines:  # an empty line is the empty pickle
        print(json.dumps(verdict(base64.b64decode(line.strip()))))


if __name__ == '__main__':
    main()
