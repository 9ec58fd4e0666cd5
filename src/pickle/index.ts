export { encodePickle, encodePickleParts } from './encode.js';
export { decodePickle, type DecodeOptions } from './decode.js';
export { scanPlainPickle, type PlainScan, type ScanKind } from './scan.js';
export {
  CONTAINER_FLOOR,
  containerBudget,
  DEFAULT_PICKLE_LIMITS,
  type PickleLimits,
  resolvePickleLimits,
} from './limits.js';
export { isPlainConstructorGlobal } from './plain-constructors.js';
export { PickleError, pickleError, type PickleErrorCode } from './errors.js';
export { PickleStream } from './pickle-stream.js';
export { pyFloatRepr } from './float-repr.js';
export {
  PyByteArray,
  PyCodepointStr,
  PyDict,
  PyGlobal,
  PyObject,
  PyPersId,
  PySet,
  PyTuple,
  UnhashableError,
  hashKey,
  pyEquals,
  pyInt,
  pyTypeName,
  type PyValue,
} from './value.js';
export { fromView, toView, viewsEqual, type View } from './view.js';
