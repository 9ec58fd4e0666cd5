/** The sockets (DESIGN §3): the only module that imports node:net. */
export {
  ChannelSender,
  DEFAULT_SEND_QUEUE_LIMITS,
  type BlockReason,
  type ChannelSenderOptions,
  type ChannelSenderStats,
  type OverflowInfo,
  type SendQueueLimits,
} from './channel-sender.js';
export { EffectRunner, type EffectRunnerOptions, type EffectRunnerStats, type PersistHook } from './effect-runner.js';
export { DealerConnection, type DealerConnectionOptions, type DealerTuning } from './dealer.js';
export {
  ALL_INTERFACES,
  CHANNEL_PORT_OFFSET,
  CHANNELS,
  channelEndpoints,
  isIpv6Literal,
  MAX_BASE_PORT,
  tcpEndpoint,
  type Channel,
} from './endpoint.js';
export { errnoCode, NetError, netError, type NetErrorCode } from './errors.js';
export { DEFAULT_LOG_LIMITER_OPTIONS, LogLimiter, type LimitDecision, type LogLimiterOptions } from './log-limiter.js';
export {
  DEFAULT_TICK_INTERVAL_MS,
  SessionServer,
  type SessionLike,
  type SessionServerOptions,
  type SessionServerStats,
} from './session-server.js';
export {
  DEFAULT_TRANSPORT_LIMITS,
  ROUTER_IDENTITIES,
  type RouterTuning,
  type TransportLimits,
} from './transport-limits.js';
export { encodeCommandBody, encodeProperties } from './zmtp/commands.js';
export { FrameReader, encodeCommandFrame, encodeMessage } from './zmtp/frames.js';
export { encodeGreeting } from './zmtp/greeting.js';
