/** Our own client of the replication 0.9.10 protocol (tests, benchmarks, `probe`). */
export type { ClientEvent, ClientEventType, ClientState, UserView } from './events.js';
export { initSession, joinSession, type JoinOptions, type JoinResult, type NodeInput } from './flows.js';
export { LocalStore, usersFromState, type LocalNode } from './local-store.js';
export { Mailbox } from './mailbox.js';
export { ReplicationClient, type ClientOptions } from './replication-client.js';
export * from './requests.js';
export { requestServerInfo, type ServerInfo, type ServerInfoOptions } from './server-info.js';
