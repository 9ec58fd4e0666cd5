/**
 * deepdiff 8.1.1 `serialization.SAFE_TO_IMPORT`: the only globals `Delta(bytes)` resolves
 * (DELTA-SEMANTICS.md §2). Anything else raises `ForbiddenModule` and the whole delta is
 * rejected: `builtins.bytearray` (tgt-1021, tgt-1022) and `datetime.date` are not on it.
 */
export const SAFE_TO_IMPORT: ReadonlySet<string> = new Set([
  'builtins.range',
  'builtins.complex',
  'builtins.set',
  'builtins.frozenset',
  'builtins.slice',
  'builtins.str',
  'builtins.bytes',
  'builtins.list',
  'builtins.tuple',
  'builtins.int',
  'builtins.float',
  'builtins.dict',
  'builtins.bool',
  'builtins.bin',
  'builtins.None',
  'datetime.datetime',
  'datetime.time',
  'datetime.timedelta',
  'decimal.Decimal',
  'uuid.UUID',
  'orderly_set.sets.OrderedSet',
  'orderly_set.sets.OrderlySet',
  'orderly_set.sets.StableSetEq',
  'deepdiff.helper.SetOrdered',
  'collections.namedtuple',
  'collections.OrderedDict',
  're.Pattern',
  'deepdiff.helper.Opcode',
]);

/**
 * deepdiff's `_RestrictedUnpickler.find_class` (a Python override) checks `f'{module}.{name}'`
 * against the list as written, then returns `getattr(sys.modules[module], name)`. Two
 * consequences the server must share with the clients:
 *
 * - no Python 2 alias is folded: CPython maps `__builtin__` to `builtins` (protocols 0-2,
 *   `fix_imports`) only inside the default `find_class`, which the override replaces, so
 *   `__builtin__.set` raises `ForbiddenModule` on every client;
 * - the split must be the real one: `orderly_set` + `sets.OrderedSet` passes the list check but
 *   `getattr` of a dotted name raises `AttributeError`. Every listed module is imported by
 *   deepdiff itself, so the split at the last dot always resolves.
 */
export function isSafeToImport(module: string, name: string): boolean {
  return !name.includes('.') && SAFE_TO_IMPORT.has(`${module}.${name}`);
}

/** `module.name` as `find_class` checks it. */
export function canonicalGlobalName(module: string, name: string): string {
  return `${module}.${name}`;
}
