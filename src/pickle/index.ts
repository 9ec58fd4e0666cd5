export { encodePickle, encodePickleParts } from './encode.js';
export { decodePickle, type DecodeOptions } from './decode.js';
export { scanPlainPickle, type PlainScan, type ScanKind } from './scan.js';
export { CONTAINER_FLOOR, containerBudget, DEFAULT_PICKLE_LIMITS, type PickleLimits } from './limits.js';
export { isPlainConstructorGlobal } from './plain-constructors.js';
export { PickleError, pickleError, type PickleErrorCode } from './errors.js';
export { PickleStream } from './pickle-stream.js';
