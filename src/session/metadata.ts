/**
 * UpdateUserMetadata (§4.9, §7): presence, chat and tasks, shallow-merged into the **sender's**
 * record and relayed to every other logged-in client. Only logged-in senders get here.
 *
 * Deviations (issue 3 §3):
 * - The relayed owner frame is the sender's real username, not the label it wrote: the reference
 *   relayed the label, so anyone could write into another user's metadata as seen by everybody
 *   (capture 09), and a label the receiver does not know crashes it (crash
 *   relayed_metadata_with_unknown_owner). Every receiver knows the sender: each login is followed
 *   by an UpdateClientsState to everyone, before anything else is relayed on the command socket.
 *   Only the owner frame is re-encoded; the data frame goes out as received.
 * - Data that is not a dict is logged and neither merged nor relayed (as the reference: cap 06).
 * - The update frame is bounded by `maxMetadataUpdateBytes` (checked before decoding, session.ts), the merged metadata by
 *   `maxMetadataBytes` (sum of the pickled sizes of the values) and `maxMetadataKeys`; an update
 *   that would cross a bound is refused whole.
 */
import { encodePickle } from '../pickle/encode.js';
import { PyDict, type PyValue } from '../pickle/value.js';
import type { UpdateUserMetadata } from '../protocol/messages.js';
import { encodeTextFrame } from '../protocol/text-frames.js';
import type { ClientRecord } from './clients.js';
import { reject, relayFrames, type SessionContext } from './context.js';
import type { ClientId } from './events.js';

export function handleMetadata(ctx: SessionContext, from: ClientId, msg: UpdateUserMetadata): void {
  const record = ctx.clients.get(from) as ClientRecord;
  if (!(msg.data instanceof PyDict)) {
    reject(ctx, 'malformed', from, `Metadata from ${record.id} ignored: data is not a dict`);
    return;
  }
  const sizes: [PyValue, PyValue, number][] = [];
  let total = record.metadataBytes;
  let keys = record.metadata.size;
  for (const [key, value] of msg.data.entries()) {
    const size = encodePickle(value).length;
    const old = record.metadataSizes.get(key);
    if (old === undefined) keys += 1;
    total += size - Number(old ?? 0n);
    sizes.push([key, value, size]);
  }
  if (total > ctx.limits.maxMetadataBytes || keys > ctx.limits.maxMetadataKeys) {
    reject(ctx, 'metadata', from, `Metadata from ${record.id} refused: merged metadata would exceed its bounds`);
    return;
  }
  for (const [key, value, size] of sizes) {
    record.metadata.set(key, value);
    record.metadataSizes.set(key, BigInt(size));
  }
  record.metadataBytes = total;
  const [type, , data] = relayFrames(msg);
  ctx.out.send('command', ctx.clients.others(from), [type, encodeTextFrame(record.id, 1), data]);
}
