/**
 * Every way the store can fail, as a stable code (STYLE.md §5). Tests assert on `code` (and
 * `step`), never on message text. All are built by `storeError`, the one place they are made.
 */
export type StoreErrorCode =
  | 'STORE_WRITE_FAILED' // a durable write failed at `step`; the previous file is intact
  | 'STORE_READ_FAILED' // a file could not be read (I/O error, not damage)
  | 'STORE_CORRUPT' // a file is damaged: truncated, bit-flipped, bad pickle or structure, journal corruption
  | 'STORE_REFUSED' // a well-formed file whose content is refused as input (a global in a pickle, a node a client could not send)
  | 'STORE_FORMAT' // a well-formed file of a newer format version than this server knows
  | 'STORE_NOT_FOUND' // the file does not exist
  | 'STORE_EXISTS' // the target of a no-replace write already exists
  | 'STORE_LOCKED' // another live process holds the data directory
  | 'STORE_LIMIT' // a configured bound was exceeded (record size, uncompressed size)
  | 'STORE_JOURNAL_FAILED' // the journal lost a write or fsync: it refuses appends until a snapshot is durable
  | 'STORE_EMPTY_OVERWRITE'; // refused to save an empty session over a non-empty one

/** The step of a durable write that failed (redis `rdbSave` logs the same). */
export type WriteStep =
  | 'mkdir'
  | 'open'
  | 'source' // the data being written failed to produce (encoding, reading the copy source)
  | 'write'
  | 'fsync'
  | 'close'
  | 'rename'
  | 'link'
  | 'fsync-dir'
  | 'truncate'
  | 'unlink'
  | 'space'; // refused before writing: not enough free space (snapshots never take the journal's space)

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly details: {
      /** For STORE_WRITE_FAILED / STORE_JOURNAL_FAILED: the step that failed. */
      readonly step?: WriteStep;
      /** The file concerned. */
      readonly path?: string;
      /** The errno code of the underlying system error (`ENOSPC`, `EACCES`, ...), when there is one. */
      readonly errno?: string;
      /** Byte offset of the damage, for STORE_CORRUPT. */
      readonly offset?: number;
    } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }

  get step(): WriteStep | undefined {
    return this.details.step;
  }

  get errno(): string | undefined {
    return this.details.errno;
  }
}

/** The one place store errors are built (ws `createError` style). */
export function storeError(
  code: StoreErrorCode,
  message: string,
  details: StoreError['details'] = {},
  cause?: unknown,
): StoreError {
  const errno = details.errno ?? errnoOf(cause);
  return new StoreError(code, message, errno === undefined ? details : { ...details, errno }, { cause });
}

/** `ENOSPC`, `EACCES`, ... of a Node system error, if `e` is one (not zlib's `Z_*` or our own codes). */
export function errnoOf(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** A short human text for a cause: `ENOSPC: no space left on device, write`. */
export function describeCause(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A file recovery passes over (moved to corrupt/ at startup) rather than stopping at: damaged or refused. */
export function isUnloadable(e: unknown): boolean {
  return e instanceof StoreError && (e.code === 'STORE_CORRUPT' || e.code === 'STORE_REFUSED');
}
