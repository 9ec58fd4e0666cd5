/**
 * ZeroMQ TCP endpoints of the three channels: command on P, data on P+1, heartbeat on P+2 (§1.1).
 */
import type { Channel } from '../session/index.js';

export type { Channel };

/** The channels in port order. */
export const CHANNELS: readonly Channel[] = ['command', 'data', 'heartbeat'];

/** Port offset of each channel from the base port P. */
export const CHANNEL_PORT_OFFSET: Readonly<Record<Channel, number>> = { command: 0, data: 1, heartbeat: 2 };

/** Highest base port: P+2 must still be a TCP port. */
export const MAX_BASE_PORT = 65535 - 2;

/** The bind-all host, as the reference binds (`tcp://*:P`). */
export const ALL_INTERFACES = '*';

/** Whether `host` is an IPv6 literal (needs brackets in an endpoint and ZMQ_IPV6). */
export function isIpv6Literal(host: string): boolean {
  return host.includes(':');
}

/** `tcp://host:port`, with brackets around an IPv6 literal. */
export function tcpEndpoint(host: string, port: number): string {
  const h = isIpv6Literal(host) && !host.startsWith('[') ? `[${host}]` : host;
  return `tcp://${h}:${port}`;
}

/** The three endpoints for base port `port`. */
export function channelEndpoints(host: string, port: number): Record<Channel, string> {
  return {
    command: tcpEndpoint(host, port + CHANNEL_PORT_OFFSET.command),
    data: tcpEndpoint(host, port + CHANNEL_PORT_OFFSET.data),
    heartbeat: tcpEndpoint(host, port + CHANNEL_PORT_OFFSET.heartbeat),
  };
}
