"""Generates test/fixtures/data/delta/refusals.jsonl.gz: deltas a hostile client could send, with
what the add-on's real deepdiff 8.1.1 does with each and what our server must decide.

Run with deepdiff 8.1.1 and orderly-set 5.2.3 importable (CPython 3.11), from the repository root:

    PYTHONPATH=/path/to/deepdiff-8.1.1:/path/to/orderly-set-5.2.3 python3 test/tools/gen_delta_refusals.py

For every case it records the client's outcome exactly as the reference server and every client
compute it: `Delta(bytes)` raising (`delta_rejected`), `base + delta` raising (`raises`), or the
result (`ok`) with the deepdiff log records it emitted. `server` is the verdict our strict Commit
reader (src/delta/strict.ts) must give: `accept` only where deepdiff applies every operation; the
fixture test checks that an accepted case gives deepdiff's result. Nothing here runs a payload
that reaches outside the case's own data: the tuple paths used stop at attributes a dict does not
have, so deepdiff logs and skips them.
"""

import base64
import gzip
import json
import logging
import os
import pickle
import sys
from copy import deepcopy

import deepdiff
from deepdiff import Delta

assert deepdiff.__version__ == '8.1.1', deepdiff.__version__
assert sys.version_info[:2] == (3, 11), sys.version

OUT = os.path.join('test', 'fixtures', 'data', 'delta', 'refusals.jsonl.gz')

records = []


class Capture(logging.Handler):
    def emit(self, record):
        records.append(f'{record.levelname}: {record.getMessage()}')


logging.getLogger('deepdiff').addHandler(Capture())
logging.getLogger('deepdiff').propagate = False

BASE = {
    'name': 'Cube',
    'location': [0.0, 1.0, 2.0],
    'data': {'vertices': 8, 'tags': ('a', 'b')},
    'flags': {1, 2},
}


def p4(obj):
    return pickle.dumps(obj, protocol=4)


def frame0(body: bytes) -> bytes:
    """A protocol 0 pickle of `{'values_changed': {"root['name']": {'new_value': <body>}}}`."""
    return (
        b"(dp0\nVvalues_changed\np1\n(dp2\nVroot['name']\np3\n(dp4\nVnew_value\np5\n"
        + body
        + b"p6\nsss."
    )


def frame2(body: bytes) -> bytes:
    """The same dict at protocol 2 (binary opcodes, GLOBAL still as text lines)."""
    def s(text):
        b = text.encode()
        return b'X' + len(b).to_bytes(4, 'little') + b

    return (
        b'\x80\x02}q\x00' + s('values_changed') + b'}q\x01' + s("root['name']") + b'}q\x02'
        + s('new_value') + body + b'sss.'
    )


def frame4(body: bytes) -> bytes:
    """The same dict at protocol 4 (STACK_GLOBAL), no framing."""
    def s(text):
        b = text.encode()
        return b'\x8c' + bytes([len(b)]) + b

    return (
        b'\x80\x04}\x94' + s('values_changed') + b'}\x94' + s("root['name']") + b'}\x94'
        + s('new_value') + body + b'sss.'
    )


def sg(module, name):
    """STACK_GLOBAL body (protocol 4) pushing module.name."""
    def s(text):
        b = text.encode()
        return b'\x8c' + bytes([len(b)]) + b

    return s(module) + s(name) + b'\x93'


SET_ARGS_0 = b'((lp7\nI1\naI2\natp8\nR'  # ([1, 2],) then REDUCE
SET_ARGS_BIN = b'(]q\x07(K\x01K\x02eq\x08\x85q\tR'  # ([1, 2],) then REDUCE (protocol 2)
SET_ARGS_4 = b']\x94(K\x01K\x02e\x85\x94R'  # ([1, 2],) then REDUCE (protocol 4)


def vc(path, value):
    return {'values_changed': {path: {'new_value': value}}}


CASES = []


def case(desc, delta_bytes, server, base=BASE):
    CASES.append((desc, delta_bytes, server, base))


ACCEPT = {'verdict': 'accept'}


def refuse(code):
    return {'verdict': 'refuse', 'code': code}


# Positive controls: plain deltas as the add-on writes them, and the odd but faithful forms.
case('plain values_changed', p4(vc("root['name']", 'Sphere')), ACCEPT)
case('nested index path', p4(vc("root['location'][1]", 5.5)), ACCEPT)
case('dictionary_item_added with a plain key', p4({'dictionary_item_added': {"root['data']['edges']": 12}}), ACCEPT)
case('builtins.set at protocol 0 (GLOBAL)', frame0(b'cbuiltins\nset\n' + SET_ARGS_0), ACCEPT)
case('builtins.set at protocol 4 (STACK_GLOBAL)', frame4(sg('builtins', 'set') + SET_ARGS_4), ACCEPT)
case('builtins.None as a global is None', frame4(sg('builtins', 'None')), ACCEPT)
case('a persistent id other than <<NoneType>> is None', frame4(b'\x8c\x04evil\x94Q'), ACCEPT)
case('builtins.set through INST (protocol 0) is called with its arguments', frame0(b'((lp7\nI1\naI2\naibuiltins\nset\n'),
     ACCEPT)
case('builtins.set through OBJ (protocol 1) is called with its arguments',
     frame0(b'(cbuiltins\nset\n(lp7\nI1\naI2\nao'), ACCEPT)
case('builtins.list through NEWOBJ ignores its arguments', frame4(sg('builtins', 'list') + b']\x94K\x01a\x85\x81'),
     ACCEPT)

# Globals: deepdiff's find_class override compares 'module.name' to its list as written.
case('__builtin__.set at protocol 0 is ForbiddenModule (no fix_imports in the override)',
     frame0(b'c__builtin__\nset\n' + SET_ARGS_0), refuse('DELTA_REJECTED'))
case('__builtin__.set at protocol 2', frame2(b'c__builtin__\nset\n' + SET_ARGS_BIN), refuse('DELTA_REJECTED'))
case('__builtin__.set at protocol 4', frame4(sg('__builtin__', 'set') + SET_ARGS_4), refuse('DELTA_REJECTED'))
case('__builtin__.set through INST (protocol 0)', frame0(b'((lp7\nI1\naI2\nai__builtin__\nset\n'),
     refuse('DELTA_REJECTED'))
case('__builtin__.frozenset at protocol 2', frame2(b'c__builtin__\nfrozenset\n' + SET_ARGS_BIN),
     refuse('DELTA_REJECTED'))
case('__builtin__.None at protocol 0', frame0(b'c__builtin__\nNone\n'), refuse('DELTA_REJECTED'))
case('__builtin__.xrange (a Python 2 name) at protocol 2', frame2(b'c__builtin__\nxrange\n'), refuse('DELTA_REJECTED'))
case('copy_reg._reconstructor at protocol 2', frame2(b'ccopy_reg\n_reconstructor\n'), refuse('DELTA_REJECTED'))
case('builtins.bytearray is not on the list', frame4(sg('builtins', 'bytearray') + SET_ARGS_4),
     refuse('DELTA_REJECTED'))
case('os.system', frame0(b'cos\nsystem\n(Vtrue\ntR'), refuse('DELTA_REJECTED'))
case('posix.system at protocol 4', frame4(sg('posix', 'system') + b'\x8c\x04true\x85R'), refuse('DELTA_REJECTED'))
case('builtins.eval', frame4(sg('builtins', 'eval') + b'\x8c\x011\x85R'), refuse('DELTA_REJECTED'))
case('orderly_set + sets.OrderedSet passes the list but getattr fails',
     frame4(sg('orderly_set', 'sets.OrderedSet')), refuse('DELTA_REJECTED'))
case('deepdiff + helper.Opcode passes the list but getattr fails',
     frame4(sg('deepdiff', 'helper.Opcode')), refuse('DELTA_REJECTED'))
case('collections.namedtuple called while unpickling builds a class on the client',
     frame4(sg('collections', 'namedtuple') + b'\x8c\x01P\x8c\x01x\x86R'), refuse('DELTA_UNSUPPORTED'))
case('not a dict', p4(['values_changed']), refuse('DELTA_REJECTED'))
case('not a pickle', b'this is not a pickle', refuse('DELTA_REJECTED'))

# Paths: only root['key'][index]...
case('tuple-form path (CVE-2025-58367) that deepdiff follows on a dict',
     p4({'values_changed': {(('root', 'GETATTR'), ('name', 'GET')): {'new_value': 'pwned'}}}),
     refuse('DELTA_PATH_REFUSED'))
case('tuple-form path towards __init__.__globals__ (the sys.executable overwrite)',
     p4({'values_changed': {
         (('root', 'GETATTR'), ('__init__', 'GETATTR'), ('__globals__', 'GETATTR'), ('sys', 'GET'),
          ('executable', 'GETATTR')): {'new_value': '/bin/sh'}}}),
     refuse('DELTA_PATH_REFUSED'))
case('tuple-form path into a list', p4({'values_changed': {
    (('root', 'GETATTR'), ('location', 'GET'), (0, 'GET')): {'new_value': 9.0}}}), refuse('DELTA_PATH_REFUSED'))
case('attribute path on a dict (deepdiff logs and skips)', p4(vc('root.name', 'X')), refuse('DELTA_PATH_REFUSED'))
case('attribute step after a subscript', p4(vc("root['data'].vertices", 3)), refuse('DELTA_PATH_REFUSED'))
case('a __ attribute token deepdiff drops (reads as root[\'data\'])',
     p4(vc("root['data'].__class__", {'replaced': True})), refuse('DELTA_PATH_REFUSED'))
case('dunder key in a subscript', p4({'dictionary_item_added': {"root['__globals__']": 1}}),
     refuse('DELTA_PATH_REFUSED'))
case('dunder key in values_changed', p4(vc("root['data']['__class__']", 1)), refuse('DELTA_PATH_REFUSED'))
case('path not starting with root (deepdiff drops any 4 characters)', p4(vc("xxxx['name']", 'Y')),
     refuse('DELTA_PATH_REFUSED'))
case('attribute_added report', p4({'attribute_added': {'root.evil': 1}}), refuse('DELTA_PATH_REFUSED'))
case('iterable_item_moved with a tuple new_path',
     p4({'iterable_item_moved': {"root['location'][0]": {
         'new_path': (('root', 'GETATTR'), ('location', 'GET'), (2, 'GET')), 'value': 0.0}}}),
     refuse('DELTA_PATH_REFUSED'))
case('a None path (deepdiff logs and skips)', p4({'values_changed': {None: {'new_value': 1}}}),
     refuse('DELTA_PATH_REFUSED'))

# Report keys and skipped operations.
case('unknown report key (deepdiff ignores it)',
     p4({'values_changed': {"root['name']": {'new_value': 'Z'}}, 'evil_report': {"root['name']": 1}}),
     refuse('DELTA_UNKNOWN_KEY'))
case('removing a key that is not there is a silent no-op for deepdiff too',
     p4({'dictionary_item_removed': {"root['missing']": 1}}), ACCEPT)
case('a type change whose conversion fails (deepdiff logs and skips)',
     p4({'type_changes': {"root['name']": {'old_type': str, 'new_type': int}}}), refuse('DELTA_INCOMPLETE'))
case('changing an index that is not there (deepdiff logs and skips)',
     p4(vc("root['location'][9]", 1.0)), refuse('DELTA_INCOMPLETE'))
case('numpy paths', p4({'_numpy_paths': {"root['location']": 'float64'},
                        'values_changed': {"root['name']": {'new_value': 'N'}}}), refuse('DELTA_PATH_REFUSED'))


# A differential sweep over deepdiff's whole allow-list: every listed global as a `type_changes`
# target, and every listed builtin called while unpickling, over a few plain values. The server may
# accept or refuse each (`any`); the fixture test checks that whatever it accepts, deepdiff applies
# whole, to the same plain result.
from deepdiff.serialization import SAFE_TO_IMPORT  # noqa: E402

SWEEP_VALUES = [3, -1, 0, 'ab', '5', '', b'ab', [1, 2], [], (1, 2), 1.5, True, None, {'k': 1}, {1, 2}]


def resolve(dotted):
    module, _, name = dotted.rpartition('.')
    return getattr(sys.modules[module], name)


class Call:
    """Pickles as REDUCE of `func` with `args`: the constructor call runs in the client's unpickler."""

    def __init__(self, func, args):
        self.func = func
        self.args = args

    def __reduce__(self):
        return (self.func, self.args)


for dotted in sorted(SAFE_TO_IMPORT - {'builtins.None'}):
    target = resolve(dotted)
    for v in SWEEP_VALUES:
        base = {'v': deepcopy(v)}
        d = {'type_changes': {"root['v']": {'old_type': type(v), 'new_type': target}}}
        case(f'sweep: type_changes {type(v).__name__} -> {dotted}', p4(d), {'verdict': 'any'}, base)
for dotted in sorted(n for n in SAFE_TO_IMPORT if n.startswith('builtins.') and n != 'builtins.None'):
    func = resolve(dotted)
    for v in SWEEP_VALUES:
        if isinstance(v, (dict, set)) and dotted == 'builtins.range':
            continue
        try:
            delta = p4(vc("root['name']", Call(func, (deepcopy(v),))))
        except Exception:  # the value cannot be an argument pickle
            continue
        case(f'sweep: {dotted}({v!r}) while unpickling', delta, {'verdict': 'any'})


def view_exc(e):
    return {'type': type(e).__name__, 'message': str(e)}


def run(desc, delta_bytes, server, base, i):
    records.clear()
    line = {
        'id': f'ref-{i:04d}',
        'kind': 'refusal',
        'desc': desc,
        'base_pickle_b64': base64.b64encode(p4(base)).decode(),
        'delta_pickle_b64': base64.b64encode(delta_bytes).decode(),
        'server': server,
    }
    try:
        delta = Delta(delta_bytes)
    except Exception as e:  # the reference server catches everything here
        line.update(outcome='delta_rejected', expected_exception=view_exc(e), log=list(records))
        return line
    before = deepcopy(base)
    try:
        result = base + delta
    except Exception as e:
        line.update(outcome='raises', expected_exception=view_exc(e), log=list(records))
        return line
    assert base == before, desc
    try:
        expected = base64.b64encode(p4(result)).decode()
    except pickle.PicklingError:  # the client built something plain pickle cannot name (a class)
        expected = None
    line.update(outcome='ok', expected_pickle_b64=expected, expected_repr=repr(result)[:300], log=list(records))
    return line


lines = [run(d, b, s, base, i) for i, (d, b, s, base) in enumerate(CASES, 1)]
for line in lines:
    # Our rule, checked against the real library: the server accepts only what deepdiff applies
    # whole.
    if line['server']['verdict'] == 'accept':  # 'any': decided by the fixture test's property
        assert line['outcome'] == 'ok' and not line['log'], line
with gzip.GzipFile(OUT, 'wb', mtime=0) as f:
    for line in lines:
        f.write((json.dumps(line, sort_keys=False) + '\n').encode())
for line in lines[:60]:
    exc = line.get('expected_exception', {}).get('type', '')
    print(line['id'], line['outcome'], exc, len(line['log']), line['server'], '-', line['desc'])
