/**
 * `/readyz`: whether this server should receive users (a load balancer or Docker healthcheck
 * asks). Each reason is a real state: the three session sockets bound, recovery finished, the
 * journal writable with nothing held in memory, the newest save not failed, free disk space above
 * DISK_FREE_WARN.
 */
import type { AdminHost } from './host.js';

export type NotReadyCode = 'sockets_not_bound' | 'recovering' | 'journal_failing' | 'last_save_failed' | 'disk_low';

export interface NotReadyReason {
  readonly code: NotReadyCode;
  readonly message: string;
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function readinessReasons(host: AdminHost): NotReadyReason[] {
  const reasons: NotReadyReason[] = [];
  const store = host.store();
  if (store === null || host.session() === null) {
    reasons.push({ code: 'recovering', message: 'the session is being restored from the data directory' });
  }
  if (host.net() === null) {
    reasons.push({ code: 'sockets_not_bound', message: 'the command, data and heartbeat sockets are not bound yet' });
  }
  if (store === null) return reasons;
  const journal = store.journal();
  if (!journal.writable) {
    const held = journal.heldInMemory > 0 ? `; ${journal.heldInMemory} change(s) held in memory` : '';
    reasons.push({
      code: 'journal_failing',
      message: `the journal cannot be written${journal.error === null ? '' : `: ${journal.error}`}${held}`,
    });
  }
  const last = store.lastSave();
  if (last !== null && !last.ok) {
    reasons.push({ code: 'last_save_failed', message: `the last save (${last.reason}) failed: ${last.error}` });
  }
  const disk = store.disk();
  if (disk.state === 'low' && disk.freeBytes !== null) {
    reasons.push({
      code: 'disk_low',
      message: `${mib(disk.freeBytes)} free in the data directory, below DISK_FREE_WARN (${mib(disk.warnBelowBytes)})`,
    });
  }
  return reasons;
}
