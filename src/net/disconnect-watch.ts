/**
 * Notices that a logged-in client left without a word: every TCP connection of its identity (on
 * the command, data and heartbeat ports) has closed, and none came back within a grace period.
 * Without this a client that closed its sockets (the add-on's Disconnect, a `probe`, a crashed
 * Blender) stayed in everyone's user list until the heartbeat timeout.
 *
 * The grace is for libzmq's own reconnect: a DEALER whose connection breaks reconnects by itself
 * (every ZMQ_RECONNECT_IVL, 100 ms by default) with the same routing identity, and our ROUTER
 * routes the new connection under that identity again; such a client must not lose its login.
 * Timers only run for identities whose last connection closed, so an idle server holds none.
 */
import type { ClientId } from '../session/index.js';

export interface DisconnectWatchOptions {
  /** How long the identity may have no connection before it is dropped (DISCONNECT_GRACE). */
  graceMs: number;
  /** Whether the identity is logged in (only logged-in identities are dropped). */
  isLoggedIn(client: ClientId): boolean;
  /** Whether the identity has a routable connection on any of the three ports. */
  isConnected(client: ClientId): boolean;
  /** The grace ran out: drop the client. `peer` is the address of the last connection that closed. */
  onGone(client: ClientId, peer: string): void;
}

interface Waiting {
  readonly timer: NodeJS.Timeout;
  peer: string;
}

export class DisconnectWatch {
  private readonly waiting = new Map<ClientId, Waiting>();

  constructor(private readonly opts: DisconnectWatchOptions) {}

  /** Identities whose connections are all closed and whose grace is running. */
  get pending(): number {
    return this.waiting.size;
  }

  /**
   * A connection of `client` from `peer` stopped being routable. Starts the grace when it was the
   * identity's last one and the identity is logged in; a client the session already let go (kick,
   * heartbeat timeout: its connections are closed after it was removed) starts nothing.
   */
  closed(client: ClientId, peer: string): void {
    const known = this.waiting.get(client);
    if (known !== undefined) {
      known.peer = peer;
      return;
    }
    if (!this.opts.isLoggedIn(client) || this.opts.isConnected(client)) return;
    const timer = setTimeout(() => this.expire(client), this.opts.graceMs);
    this.waiting.set(client, { timer, peer });
  }

  /** A connection of `client` became routable (a reconnect): whatever grace ran is over. */
  opened(client: ClientId): void {
    this.cancel(client);
  }

  /** The session let the client go by another path: nothing left to drop. */
  cancel(client: ClientId): void {
    const w = this.waiting.get(client);
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.waiting.delete(client);
  }

  close(): void {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
  }

  private expire(client: ClientId): void {
    const w = this.waiting.get(client);
    if (w === undefined) return;
    this.waiting.delete(client);
    // Checked again: a reconnect cancels the timer, but a kick or timeout meanwhile only forgets.
    if (this.opts.isLoggedIn(client) && !this.opts.isConnected(client)) this.opts.onGone(client, w.peer);
  }
}
