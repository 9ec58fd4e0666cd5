/**
 * Capture transcript lines (`frames_b64`, shared/protocol/captures/README.md): every replication
 * message decodes, re-encodes and reads back to the same message; heartbeat frames are their
 * ASCII; a message the capture could not decode is refused with a ProtocolError.
 */
import { toView, viewsEqual } from '../../pickle/index.js';
import {
  decodeHeartbeat,
  decodeMessage,
  encodeMessage,
  MessageType,
  messageTypeName,
  ProtocolError,
  type ReplicationMessage,
} from '../../protocol/index.js';
import { check, fail, recordId, runCase, type CaseResult, type FixtureRecord } from './result.js';

function framesOf(record: FixtureRecord): Buffer[] {
  const frames = record.frames_b64;
  if (!Array.isArray(frames) || !frames.every((f) => typeof f === 'string')) fail('frames_b64 is not a list of str');
  return frames.map((f: string) => Buffer.from(f, 'base64'));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function sameDeps(a: string[] | null, b: string[] | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether two messages carry the same fields (values compared as views, raw bytes as bytes). */
function sameMessage(a: ReplicationMessage, b: ReplicationMessage): boolean {
  if (a.type === MessageType.Commit) {
    return (
      b.type === a.type && a.nodeId === b.nodeId && sameDeps(a.deps, b.deps) && sameBytes(a.deltaBytes, b.deltaBytes)
    );
  }
  if (a.type === MessageType.Node) {
    return (
      b.type === a.type &&
      a.uuid === b.uuid &&
      a.owner === b.owner &&
      sameDeps(a.deps, b.deps) &&
      sameBytes(a.dataBytes, b.dataBytes)
    );
  }
  if (b.type === MessageType.Commit || b.type === MessageType.Node) return false;
  return a.type === b.type && a.owner === b.owner && viewsEqual(toView(a.data), toView(b.data));
}

export function checkCaptureRecord(record: FixtureRecord, fallbackId: string): CaseResult {
  return runCase(recordId(record, fallbackId), () => {
    const frames = framesOf(record);
    if (record.socket === 'ttl') {
      const kind = decodeHeartbeat(frames);
      const ascii = frames[0].toString('latin1');
      check(kind === 'OTHER' || kind === ascii, `heartbeat ${ascii} read as ${kind}`);
      return;
    }
    if (record.type_num === null) {
      try {
        decodeMessage(frames);
      } catch (err) {
        check(err instanceof ProtocolError, `threw ${String(err)}, not a ProtocolError`);
        return;
      }
      fail('a message the capture could not decode was accepted');
    }
    const msg = decodeMessage(frames);
    check(msg.type === record.type_num, `type ${msg.type}, capture says ${String(record.type_num)}`);
    const decoded = record.decoded as { class?: unknown } | undefined;
    if (decoded?.class !== undefined) {
      check(
        messageTypeName(msg.type) === decoded.class,
        `class ${messageTypeName(msg.type)}, capture says ${String(decoded.class)}`,
      );
    }
    check(sameMessage(decodeMessage(encodeMessage(msg)), msg), 're-encoded message reads back differently');
  });
}
