/**
 * The session sockets over a `Persistence`, wired as `serve` wires them (cli/serve.ts): journal
 * before relay, save requests to the store, and new changes refused while the journal cannot
 * take them. On free ports of 127.0.0.1, for in-process tests.
 */
import type { Persistence } from '../../src/cli/index.js';
import { SessionServer } from '../../src/net/index.js';
import type { Logger } from '../../src/session/index.js';
import { withFreeBasePort } from './ports.js';

export async function startServerOver(persistence: Persistence, logger: Logger): Promise<SessionServer> {
  const server = await withFreeBasePort((port) =>
    SessionServer.start({
      port,
      host: '127.0.0.1',
      session: persistence.session,
      persist: persistence.persist,
      save: (reason) => void persistence.save(reason),
      logger,
    }),
  );
  persistence.onRefuse = (reason) => server.stopAccepting(reason);
  persistence.onResume = () => server.resumeAccepting();
  return server;
}
