/**
 * The logger the store receives (STYLE.md §10): nothing in `store/` calls `console`. It is the
 * subset of `net/logger.ts`'s `Logger` the store needs, declared here so `store/` does not
 * depend on `net/`; a `net` Logger is assignable to it.
 */
export interface StoreLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Drops everything. */
export const SILENT_STORE_LOGGER: StoreLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
