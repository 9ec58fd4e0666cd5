/**
 * This server's version, from its package.json (written into every snapshot, journal segment and
 * session_metadata.json, so an operator can tell which build wrote a file).
 */
import { REPLICATION_VERSION } from '../protocol/index.js';
import { readTextFileSync } from '../store/index.js';

let cached: string | undefined;

/** `package.json` `version` (dist/src/cli → the package root), or `'unknown'` when it cannot be read. */
export function serverVersion(): string {
  if (cached !== undefined) return cached;
  cached = 'unknown';
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readTextFileSync(new URL(rel, import.meta.url))) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'multiuser-server' && typeof pkg.version === 'string') {
        cached = pkg.version;
        break;
      }
    } catch {
      // Not there from this layout: try the next.
    }
  }
  return cached;
}

/** What `--version` prints: `multiuser-server 0.1.0 (replication 0.9.10 protocol, Node v20.x)`. */
export function versionLine(): string {
  return `multiuser-server ${serverVersion()} (replication ${REPLICATION_VERSION} protocol, Node ${process.version})`;
}
