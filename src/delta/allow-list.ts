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
 * CPython's unpickler maps Python 2 module names (`_compat_pickle.IMPORT_MAPPING`) before
 * `find_class` runs, so a protocol 0-2 `__builtin__.set` is checked as `builtins.set`.
 */
function canonicalModule(module: string): string {
  return module === '__builtin__' ? 'builtins' : module;
}

/** The `allowGlobal` predicate for delta pickles. */
export function isSafeToImport(module: string, name: string): boolean {
  return SAFE_TO_IMPORT.has(`${canonicalModule(module)}.${name}`);
}

/** `module.name` with the Python 2 alias folded, as `find_class` sees it. */
export function canonicalGlobalName(module: string, name: string): string {
  return `${canonicalModule(module)}.${name}`;
}
