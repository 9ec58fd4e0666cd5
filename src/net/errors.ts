/** Every way `net/` can fail. Tests assert on these codes, never on message text. */
export type NetErrorCode =
  | 'NET_ADDRESS_IN_USE' // one of the three ports is taken (EADDRINUSE)
  | 'NET_BIND' // any other bind failure (bad host, no permission, ...)
  | 'NET_CLOSED' // the server or connection was already closed
  | 'NET_ENDPOINT' // a client socket given a malformed endpoint or an identity over 255 bytes
  | 'NET_TIMEOUT'; // a connection-side wait ran past its deadline

/** A socket-level failure: binding, or using something already closed. */
export class NetError extends Error {
  constructor(
    readonly code: NetErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NetError';
  }
}

/** The one place net errors are built (ws `createError` style). */
export function netError(code: NetErrorCode, message: string, cause?: unknown): NetError {
  return new NetError(code, message, cause === undefined ? undefined : { cause });
}

/** The `code` of a zeromq.js `ErrnoError` (`EAGAIN`, `EHOSTUNREACH`, ...), if there is one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
