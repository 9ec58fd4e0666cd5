/** The session's slice of the configuration (STYLE.md §11), shared by the server and the data tools. */
import type { SessionOptions } from '../session/index.js';
import type { Config } from './config.js';

export function sessionOptionsOf(config: Config): SessionOptions {
  return {
    adminPassword: config.adminPassword,
    serverPassword: config.serverPassword,
    timeoutMs: config.timeoutMs,
    heartbeatGraceMs: config.heartbeatGraceMs,
    limits: {
      maxPayloadFrameBytes: config.maxFrameBytes,
      maxFramesPerMessage: config.maxFramesPerMessage,
      maxCommandFrameBytes: config.maxCommandBytes,
      maxMetadataBytes: config.maxMetadataBytes,
      maxMetadataUpdateBytes: config.maxMetadataUpdateBytes,
      maxUserListMetadataBytes: config.maxUserListMetadataBytes,
      maxCommandContainers: config.maxCommandContainers,
      maxCommitNodeContainers: config.maxCommitNodeContainers,
      maxNodes: config.maxNodes,
      maxClients: config.maxClients,
      pickle: { maxDepth: config.maxPickleDepth, maxContainers: config.maxPickleContainers },
    },
  };
}
