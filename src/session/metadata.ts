/**
 * UpdateUserMetadata (§4.9, §7): presence, chat and tasks, shallow-merged into the **sender's**
 * record and relayed to every other logged-in client. Only logged-in senders get here.
 *
 * Deviations from the reference (REPLICATION-PROTOCOL.md §4.9; docs/security.md):
 * - The relayed owner frame is the sender's real username, not the label it wrote: the reference
 *   relayed the label, so anyone could write into another user's metadata as seen by everybody
 *   (capture 09), and a label the receiver does not know crashes it (crash
 *   relayed_metadata_with_unknown_owner). Every receiver knows the sender: each login is followed
 *   by an UpdateClientsState to everyone, before anything else is relayed on the command socket.
 *   Only the owner frame is re-encoded; the data frame goes out as received.
 * - Data that is not a dict is logged and neither merged nor relayed (as the reference: cap 06).
 * - The update frame is bounded by `maxMetadataUpdateBytes` (checked before decoding, session.ts), the merged metadata by
 *   `maxMetadataBytes` (sum of the pickled sizes of the values) and `maxMetadataKeys`, and all
 *   logged-in users' merged metadata together by `maxUserListMetadataBytes`, since every client
 *   receives all of it in the user list every second; an update that would cross a bound is
 *   refused whole. Its data frame was scanned and decoded within `maxCommandContainers` (codec).
 *
 * An accepted update is journaled (mutation.ts), then what it adds to the chat/task archive
 * (archive-updates.ts), then relayed.
 */
import { PyDict } from '../pickle/index.js';
import { type UpdateUserMetadata, encodeTextFrame } from '../protocol/index.js';
import { archiveUpdatesOf } from './archive-updates.js';
import type { ClientRecord } from './clients.js';
import { reject, relayFrames, type SessionContext } from './context.js';
import type { ClientId } from './events.js';
import { acceptMutation } from './mutation.js';
import { UserBook, type UserEntry } from './users.js';

export function handleMetadata(ctx: SessionContext, from: ClientId, msg: UpdateUserMetadata): void {
  const record = ctx.clients.get(from) as ClientRecord;
  if (!(msg.data instanceof PyDict)) {
    reject(ctx, 'malformed', from, `Metadata from ${record.id} ignored: data is not a dict`);
    return;
  }
  const merge = checkMetadataMerge(ctx, record.entry, msg.data);
  if (typeof merge === 'string') {
    reject(ctx, 'metadata', from, `Metadata from ${record.id} refused: ${merge}`);
    return;
  }
  if (userListMetadataBytes(ctx) - record.entry.metadataBytes + merge.total > ctx.limits.maxUserListMetadataBytes) {
    reject(
      ctx,
      'metadata',
      from,
      `Metadata from ${record.id} refused: the user list would exceed ${ctx.limits.maxUserListMetadataBytes} bytes of metadata`,
    );
    return;
  }
  // Computed against the metadata merged so far, so an unchanged value is not parsed again.
  const archiveChanges = archiveUpdatesOf(ctx, record, msg.data);
  acceptMutation(ctx, { type: 'metadata', name: record.id, data: msg.data }, { metadataSizes: merge.sizes });
  for (const change of archiveChanges) acceptMutation(ctx, change);
  // The owner frame is the sender's name, never the archive entry's: Auth refuses that name (§7.4).
  const [type, , data] = relayFrames(msg);
  ctx.out.send('command', ctx.clients.others(from), [type, encodeTextFrame(record.id, 1), data]);
}

/** What merging metadata into a user's entry would give. */
export interface MetadataMerge {
  /** The pickled size of each value of the update, in order. */
  readonly sizes: number[];
  /** The entry's merged metadata bytes afterwards. */
  readonly total: number;
}

/**
 * The sizes and merged total of merging `data` into `entry`, or why it is refused: the merged
 * metadata would exceed `maxMetadataBytes` or `maxMetadataKeys`. Also what a loaded file's
 * metadata must pass (image.ts), so a file cannot hold what a client could not send.
 */
export function checkMetadataMerge(ctx: SessionContext, entry: UserEntry, data: PyDict): MetadataMerge | string {
  const sizes: number[] = [];
  let total = entry.metadataBytes;
  let keys = entry.metadata.size;
  for (const [key, value] of data.entries()) {
    const size = UserBook.sizeOf(value);
    const old = entry.metadataSizes.get(key);
    if (old === undefined) keys += 1;
    total += size - Number(old ?? 0n);
    sizes.push(size);
  }
  if (total > ctx.limits.maxMetadataBytes || keys > ctx.limits.maxMetadataKeys) {
    return 'merged metadata would exceed its bounds';
  }
  return { sizes, total };
}

/** Merged metadata bytes of every logged-in user: what each user list carries. */
function userListMetadataBytes(ctx: SessionContext): number {
  let sum = 0;
  for (const r of ctx.clients.records()) sum += r.entry.metadataBytes;
  return sum;
}
