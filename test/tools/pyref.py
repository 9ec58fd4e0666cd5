#!/usr/bin/env python3
"""pyref: our Python reference checker for pickles. Standard library only.

It decodes pickles WITHOUT importing or calling anything the pickle names, and
prints the JSON view of the result (the convention of
shared/fixtures/README.md, "JSON view convention"; the same output and the
same comparison as the fixtures' pyview.py).

    python3 pyref.py [--mode strict|plain|symbolic] [--check] < lines

Input: one item per non-empty line, either bare base64 or a JSON object
{"id": ..., "pickle_b64": "...", "view": <expected view>} ("id" and "view"
optional).

Output: one JSON line per item, {"id", "ok": true, "view"} or
{"id", "ok": false, "error": "<Type>: <message>"}. With --check, items that
carry a "view" also get "match" (compared with views_equal). stderr ends with
"N passed, N failed"; the exit status is 1 if anything failed.

    python3 pyref.py --session-db FILE [--full]

Session-file mode: opens FILE the way the add-on's "Load session save"
(replication Repository.loads) does — gzip.open + unpickle + db['nodes'] —
but with the strict loader (nothing resolved, nothing executed), then checks
that every node is a list of 5 bytes (type frame, uuid, owner, deps pickle,
data pickle) whose type frame, deps and data also decode strictly. Prints one
JSON line: {"ok": true, "keys", "node_count", "nodes_are_chunk_lists",
"nodes_loaded", "node_uuids", "owners", "users", "server"} (plus "view" of the
whole file with --full), or {"ok": false, "error"}; exit status 0 / 1.

Modes:
  strict    CPython's own C unpickler, with every global and persistent id
            refused. A protocol 4 pickle of plain values needs neither, so
            this is how the TS encoder's output is accepted.
  plain     strict, plus argument-checked local stand-ins for the globals
            CPython writes for plain values at protocols 0-3
            (_codecs.encode to latin-1, bytes, bytearray, set, frozenset).
  symbolic  everything is decoded structurally: globals, persistent ids and
            the objects REDUCE/NEWOBJ/NEWOBJ_EX/INST/OBJ ask for become
            inert records, with BUILD states and APPEND(S)/SETITEM(S)/
            ADDITEMS on them recorded.
"""

import argparse
import base64
import gzip
import io
import json
import math
import pickle
import re
import struct
import sys

SAFE_INT = 2 ** 53 - 1
NODE_BUDGET = 2_000_000
DEPTH_LIMIT = 900
INDEX_KEY = re.compile(r'\A(?:0|[1-9][0-9]*)\Z')
JOINED_PAIR = re.compile('[\ud800-\udbff][\udc00-\udfff]')


class Refused(pickle.UnpicklingError):
    """The pickle asked for something this mode does not allow."""


class ViewError(ValueError):
    pass


# ---------------------------------------------------------------- strict / plain

class StrictLoader(pickle.Unpickler):
    """The C unpickler with no way out: no global resolves, no persistent id loads."""

    def find_class(self, module, name):
        raise Refused('global %s.%s refused' % (module, name))

    def persistent_load(self, pid):
        raise Refused('persistent id %r refused' % (pid,))


LATIN1_NAMES = frozenset(('latin1', 'latin-1', 'iso-8859-1', 'iso8859-1'))


def _want_latin1(encoding):
    if encoding not in LATIN1_NAMES:
        raise Refused('encoding %r refused' % (encoding,))


def codecs_encode(text, encoding):
    """_codecs.encode as CPython < 3 protocols use it: a latin-1 str to bytes."""
    if type(text) is not str:
        raise Refused('_codecs.encode wants a str')
    _want_latin1(encoding)
    return text.encode('latin-1')


def make_bytes(*args):
    if not args:
        return b''
    if len(args) == 1 and type(args[0]) in (bytes, list):
        return bytes(args[0])
    raise Refused('bytes%r refused' % (args,))


def make_bytearray(*args):
    if not args:
        return bytearray()
    if len(args) == 1 and type(args[0]) in (bytes, list):
        return bytearray(args[0])
    if len(args) == 2 and type(args[0]) is str:
        _want_latin1(args[1])
        return bytearray(args[0], 'latin-1')
    raise Refused('bytearray%r refused' % (args,))


def _collection(kind):
    def build(*args):
        if not args:
            return kind()
        if len(args) == 1 and type(args[0]) in (list, tuple):
            return kind(args[0])
        raise Refused('%s%r refused' % (kind.__name__, args))
    return build


STAND_INS = {'_codecs': {'encode': codecs_encode}}
for _module in ('builtins', '__builtin__'):
    STAND_INS[_module] = {
        'bytes': make_bytes,
        'bytearray': make_bytearray,
        'set': _collection(set),
        'frozenset': _collection(frozenset),
    }


class PlainLoader(StrictLoader):
    def find_class(self, module, name):
        found = STAND_INS.get(module, {}).get(name)
        if found is None:
            raise Refused('global %s.%s refused' % (module, name))
        return found


# ---------------------------------------------------------------- symbolic

class Global:
    """module.name as written in the pickle; never looked up."""
    __slots__ = ('module', 'name')

    def __init__(self, module, name):
        self.module = module
        self.name = name


class PersId:
    __slots__ = ('pid',)

    def __init__(self, pid):
        self.pid = pid


class Record:
    """What the pickle asked to build. Item opcodes land in the lists below."""

    def __init__(self, op, callable_, args, kwargs=None):
        self.op = op
        self.callable = callable_
        self.args = args
        self.kwargs = kwargs
        self.states = []
        self.listitems = []
        self.dictitems = []
        self.setitems = []

    # The pure unpickler applies APPEND(S), SETITEM(S) and ADDITEMS through these.
    def append(self, item):
        self.listitems.append(item)

    def extend(self, items):
        self.listitems.extend(items)

    def __setitem__(self, key, value):
        self.dictitems.append((key, value))

    def add(self, item):
        self.setitems.append(item)

    def children(self):
        yield self.callable
        yield self.args
        if self.kwargs is not None:
            yield self.kwargs
        yield from self.states
        yield from self.listitems
        for key, value in self.dictitems:
            yield key
            yield value
        yield from self.setitems


class SymbolicLoader(pickle._Unpickler):
    """The pure-Python unpickler with every opcode that would call something replaced by a recorder."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module, name):
        return Global(module, name)

    def persistent_load(self, pid):
        return PersId(pid)

    def get_extension(self, code):
        raise Refused('extension code %d refused' % code)

    def _reduce(self):
        args = self.stack.pop()
        self.stack[-1] = Record('REDUCE', self.stack[-1], args)

    def _newobj(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(Record('NEWOBJ', cls, args))

    def _newobj_ex(self):
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(Record('NEWOBJ_EX', cls, args, kwargs))

    def _inst(self):
        module = self.readline()[:-1].decode('ascii')
        name = self.readline()[:-1].decode('ascii')
        args = tuple(self.pop_mark())
        self.append(Record('INST', self.find_class(module, name), args))

    def _obj(self):
        items = self.pop_mark()
        if not items:
            raise pickle.UnpicklingError('OBJ without a class')
        self.append(Record('OBJ', items[0], tuple(items[1:])))

    def _build(self):
        state = self.stack.pop()
        target = self.stack[-1]
        if type(target) is not Record:
            raise pickle.UnpicklingError('BUILD applied to a %s' % type(target).__name__)
        target.states.append(state)

    dispatch[pickle.REDUCE[0]] = _reduce
    dispatch[pickle.NEWOBJ[0]] = _newobj
    dispatch[pickle.NEWOBJ_EX[0]] = _newobj_ex
    dispatch[pickle.INST[0]] = _inst
    dispatch[pickle.OBJ[0]] = _obj
    dispatch[pickle.BUILD[0]] = _build


LOADERS = {'strict': StrictLoader, 'plain': PlainLoader, 'symbolic': SymbolicLoader}


def decode(data, mode='strict'):
    """Decode pickle bytes in `mode`; raises on anything refused or malformed."""
    return LOADERS[mode](io.BytesIO(data)).load()


# ---------------------------------------------------------------- view

SHARABLE = (list, dict, set, bytearray, Record)


def view_float(x):
    if math.isnan(x):
        return {'$float': 'NaN'}
    if math.isinf(x):
        return {'$float': 'Infinity' if x > 0 else '-Infinity'}
    if x == math.floor(x):
        return {'$float': repr(x)}
    return x


def compact(value):
    """The fixtures' JSON text: ASCII only, no spaces, no NaN."""
    return json.dumps(value, ensure_ascii=True, separators=(',', ':'), allow_nan=False)


def plain_key(key):
    return type(key) is str and not key.startswith('$') and INDEX_KEY.match(key) is None


def children(obj):
    kind = type(obj)
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        return obj
    if kind is dict:
        return [x for pair in obj.items() for x in pair]
    if kind is Record:
        return obj.children()
    if kind is PersId:
        return (obj.pid,)
    return ()


class Viewer:
    """Two passes: count how often each sharable object is reached, then emit with $shared/$ref."""

    def __init__(self):
        self.seen = {}
        self.labels = {}
        self.budget = 0
        self.hold = []  # keeps counted objects alive so their id() stays unique

    def spend(self, depth):
        self.budget -= 1
        if self.budget < 0:
            raise ViewError('value too large for a view')
        if depth > DEPTH_LIMIT:
            raise ViewError('value too deep for a view')

    def count(self, obj, depth):
        self.spend(depth)
        if isinstance(obj, SHARABLE):
            key = id(obj)
            if key in self.seen:
                self.seen[key] += 1
                return
            self.seen[key] = 1
            self.hold.append(obj)
        for child in children(obj):
            self.count(child, depth + 1)

    def view(self, obj):
        self.budget = NODE_BUDGET
        self.count(obj, 0)
        self.budget = NODE_BUDGET
        return self.emit(obj, 0)

    def emit(self, obj, depth):
        self.spend(depth)
        if isinstance(obj, SHARABLE) and self.seen.get(id(obj), 0) > 1:
            key = id(obj)
            if key in self.labels:
                return {'$ref': self.labels[key]}
            label = self.labels[key] = len(self.labels)
            return {'$shared': label, 'value': self.body(obj, depth)}
        return self.body(obj, depth)

    def body(self, obj, depth):
        kind = type(obj)
        sub = depth + 1
        if obj is None or kind is bool:
            return obj
        if kind is int:
            return obj if -SAFE_INT <= obj <= SAFE_INT else {'$int': str(obj)}
        if kind is float:
            return view_float(obj)
        if kind is str:
            if JOINED_PAIR.search(obj):
                # JSON text would fuse these two code points into one character.
                return {'$codepoints': [ord(ch) for ch in obj]}
            return obj
        if kind is bytes:
            return {'$bytes_b64': base64.b64encode(obj).decode('ascii')}
        if kind is bytearray:
            return {'$bytearray_b64': base64.b64encode(bytes(obj)).decode('ascii')}
        if kind is list:
            return [self.emit(x, sub) for x in obj]
        if kind is tuple:
            return {'$tuple': [self.emit(x, sub) for x in obj]}
        if kind is set or kind is frozenset:
            items = [self.emit(x, sub) for x in obj]
            items.sort(key=compact)
            return {'$set' if kind is set else '$frozenset': items}
        if kind is dict:
            if all(plain_key(k) for k in obj):
                return {k: self.emit(v, sub) for k, v in obj.items()}
            return {'$dict': [[self.emit(k, sub), self.emit(v, sub)] for k, v in obj.items()]}
        if kind is Global:
            return {'$global': [obj.module, obj.name]}
        if kind is PersId:
            return {'$persid': self.emit(obj.pid, sub)}
        if kind is Record:
            out = {'op': obj.op, 'callable': self.emit(obj.callable, sub), 'args': self.emit(obj.args, sub)}
            if obj.kwargs is not None:
                out['kwargs'] = self.emit(obj.kwargs, sub)
            for field, values in (('state', obj.states), ('listitems', obj.listitems)):
                if values:
                    out[field] = [self.emit(x, sub) for x in values]
            if obj.dictitems:
                out['dictitems'] = [[self.emit(k, sub), self.emit(v, sub)] for k, v in obj.dictitems]
            if obj.setitems:
                out['setitems'] = [self.emit(x, sub) for x in obj.setitems]
            return {'$object': out}
        raise ViewError('no view for type %s' % kind.__name__)


def to_view(obj):
    """The JSON view of a decoded value."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * DEPTH_LIMIT + 1000))
    try:
        return Viewer().view(obj)
    finally:
        sys.setrecursionlimit(limit)


# ---------------------------------------------------------------- comparison

def _number_from_text(text):
    special = {'NaN': math.nan, 'Infinity': math.inf, '-Infinity': -math.inf}
    return special[text] if text in special else float(text)


def _float_key(x):
    # Bit pattern, so -0.0 != 0.0; every NaN is the same NaN.
    return ('float', 'nan') if math.isnan(x) else ('float', struct.pack('>d', x))


class Canon:
    """A view as a comparable tagged tree; $shared labels become their order of appearance."""

    def __init__(self):
        self.order = {}

    def pairs(self, items):
        return tuple((self.of(k), self.of(v)) for k, v in items)

    def seq(self, items):
        return tuple(self.of(x) for x in items)

    def tagged(self, tag, x):
        if tag == '$int':
            return ('int', int(x))
        if tag == '$float':
            return _float_key(_number_from_text(x))
        if tag == '$codepoints':
            return ('str', ''.join(chr(c) for c in x))
        if tag == '$bytes_b64':
            return ('bytes', base64.b64decode(x))
        if tag == '$bytearray_b64':
            return ('bytearray', base64.b64decode(x))
        if tag == '$tuple':
            return ('tuple', self.seq(x))
        if tag == '$set' or tag == '$frozenset':
            return (tag[1:], tuple(sorted(self.seq(x), key=repr)))
        if tag == '$dict':
            return ('dict', self.pairs(x))
        if tag == '$global':
            return ('global', x[0], x[1])
        if tag == '$persid':
            return ('persid', self.of(x))
        if tag == '$ref':
            return ('ref', self.order[x])
        if tag == '$object':
            parts = [('op', x['op'])]
            parts += [(f, self.of(x[f])) for f in ('callable', 'args', 'kwargs') if f in x]
            parts += [(f, self.seq(x[f])) for f in ('state', 'listitems') if f in x]
            if 'dictitems' in x:
                parts.append(('dictitems', self.pairs(x['dictitems'])))
            if 'setitems' in x:
                parts.append(('setitems', self.seq(x['setitems'])))
            return ('object', tuple(parts))
        return None

    def of(self, v):
        if v is None:
            return ('none',)
        if v is True or v is False:
            return ('bool', v)
        kind = type(v)
        if kind is int:
            return ('int', v)
        if kind is float:
            return _float_key(v)
        if kind is str:
            return ('str', v)
        if kind is list:
            return ('list', self.seq(v))
        if kind is not dict:
            raise ViewError('bad view node %r' % (v,))
        if len(v) == 1:
            (tag, x), = v.items()
            found = self.tagged(tag, x)
            if found is not None:
                return found
        if v.keys() == {'$shared', 'value'}:
            n = self.order[v['$shared']] = len(self.order)
            return ('shared', n, self.of(v['value']))
        for key in v:
            if key.startswith('$'):
                raise ViewError('unexpected key %r in plain dict view' % key)
        return ('dict', tuple((('str', k), self.of(x)) for k, x in v.items()))


def views_equal(a, b):
    """Equal as values: exact types, float bits (any NaN = any NaN), dict order counts, set order not."""
    return Canon().of(a) == Canon().of(b)


# ---------------------------------------------------------------- CLI

def b64(text):
    text = text.strip()
    return base64.b64decode(text + '=' * (-len(text) % 4), validate=True)


def handle(line, lineno, mode, check):
    """One input line -> (output record, passed)."""
    ident = lineno
    try:
        expected = None
        if line.startswith('{'):
            item = json.loads(line)
            ident = item.get('id', lineno)
            data = b64(item['pickle_b64'])
            if 'view' in item:
                expected = (item['view'],)
        else:
            data = b64(line)
        got = to_view(decode(data, mode))
        out = {'id': ident, 'ok': True, 'view': got}
        passed = True
        if check and expected is not None:
            passed = out['match'] = views_equal(got, expected[0])
        return compact(out), passed
    except Exception as exc:  # hostile input is reported, never fatal
        return compact({'id': ident, 'ok': False, 'error': '%s: %s' % (type(exc).__name__, exc)}), False


# ---------------------------------------------------------------- session files

NODE_TYPE = 2


def _node_loads(chunks):
    """What the add-on needs from one chunk list; raises if it could not rebuild the node."""
    if decode(chunks[0]) != NODE_TYPE:
        raise ValueError('type frame is not Node')
    uuid = chunks[1].decode('utf-8')
    owner = chunks[2].decode('utf-8')
    deps = decode(chunks[3])
    if deps is not None and (type(deps) is not list or not all(type(d) is str for d in deps)):
        raise ValueError('deps of %s are not a list of str' % uuid)
    data = decode(chunks[4])
    if type(data) is not dict or 'type_id' not in data or 'uuid' not in data:
        raise ValueError('data of %s is not a dict with type_id and uuid' % uuid)
    return uuid, owner


def session_db(path, full):
    """The add-on's loader, restricted: gzip.open, unpickle, db['nodes'] (a KeyError if missing)."""
    with gzip.open(path, 'rb') as f:
        db = StrictLoader(f).load()
    if type(db) is not dict:
        raise ValueError('top level is a %s, not a dict' % type(db).__name__)
    nodes = db['nodes']
    chunk_lists = type(nodes) is list and all(
        type(n) is list and len(n) == 5 and all(type(c) is bytes for c in n) for n in nodes)
    uuids, owners, loaded = [], [], 0
    if chunk_lists:
        for n in nodes:
            uuid, owner = _node_loads(n)
            uuids.append(uuid)
            owners.append(owner)
            loaded += 1
    users = db.get('users', {})
    server = db.get('multiuser_server')
    out = {
        'ok': True,
        'keys': list(db.keys()),
        'node_count': len(nodes) if type(nodes) is list else None,
        'nodes_are_chunk_lists': chunk_lists,
        'nodes_loaded': loaded,
        'node_uuids': uuids,
        'owners': owners,
        'users': list(users.keys()) if type(users) is dict else None,
        'server': None if type(server) is not dict else {
            k: (v if type(v) in (str, int, float, bool) else to_view(v)) for k, v in server.items()},
    }
    if full:
        out['view'] = to_view(db)
    return out


def main(argv):
    parser = argparse.ArgumentParser(description='Decode pickles without executing them; print JSON views.')
    parser.add_argument('--mode', choices=sorted(LOADERS), default='strict')
    parser.add_argument('--check', action='store_true', help='compare with the "view" of each input line')
    parser.add_argument('--session-db', metavar='FILE', help='check a session file as the add-on loads it')
    parser.add_argument('--full', action='store_true', help='with --session-db: add the view of the whole file')
    opts = parser.parse_args(argv)
    if opts.session_db is not None:
        try:
            out = session_db(opts.session_db, opts.full)
        except Exception as exc:  # damaged or hostile files are reported, never fatal
            out = {'ok': False, 'error': '%s: %s' % (type(exc).__name__, exc)}
        sys.stdout.write(compact(out) + '\n')
        sys.stdout.flush()
        return 0 if out['ok'] else 1
    passed = failed = 0
    for lineno, raw in enumerate(sys.stdin, 1):
        line = raw.strip()
        if not line:
            continue
        text, ok = handle(line, lineno, opts.mode, opts.check)
        sys.stdout.write(text + '\n')
        if ok:
            passed += 1
        else:
            failed += 1
    sys.stdout.flush()
    sys.stderr.write('%d passed, %d failed\n' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
