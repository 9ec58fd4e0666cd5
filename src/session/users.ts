/**
 * The session's user records by name: what a snapshot stores under `'users'` (§6) and what
 * UpdateUserMetadata merges into (§4.9). A logged-in client's `ClientRecord` points at its entry,
 * so the live path and journal replay change the same object through the same functions
 * (STYLE.md §2). After a restore the book also holds records of users who are not connected:
 * they are only a record (never in a user list, never lock owners) until that name logs in again,
 * which replaces the record with a fresh one — as a new login always started with empty metadata.
 */
import { encodePickle, PyDict, type PyValue } from '../pickle/index.js';

export class UserEntry {
  /** Everything merged with UpdateUserMetadata (§4.9), Python types kept. */
  readonly metadata = new PyDict();
  /** Pickled size of each metadata value (key → int), for `maxMetadataBytes`. */
  readonly metadataSizes = new PyDict();
  metadataBytes = 0;

  constructor(
    readonly name: string,
    readonly admin: boolean,
  ) {}

  /**
   * Shallow merge (`record['metadata'].update(data)`, §4.9). `sizes` are the pickled sizes of
   * `data`'s values in order when the caller measured them already (the live bounds check).
   */
  merge(data: PyDict, sizes?: readonly number[]): void {
    let i = 0;
    for (const [key, value] of data.entries()) {
      const size = sizes?.[i] ?? encodePickle(value).length;
      i += 1;
      this.metadataBytes += size - Number(this.metadataSizes.get(key) ?? 0n);
      this.metadata.set(key, value);
      this.metadataSizes.set(key, BigInt(size));
    }
  }
}

export class UserBook {
  private readonly entries = new Map<string, UserEntry>();

  get size(): number {
    return this.entries.size;
  }

  get(name: string): UserEntry | undefined {
    return this.entries.get(name);
  }

  /** A fresh record for `name`, replacing (and moving to the end) any earlier one. */
  join(name: string, admin: boolean): UserEntry {
    const entry = new UserEntry(name, admin);
    this.entries.delete(name);
    this.entries.set(name, entry);
    return entry;
  }

  /** Puts `entry` in the book as `join` would put a fresh one (a login journaled late, mutation.ts). */
  adopt(entry: UserEntry): UserEntry {
    this.entries.delete(entry.name);
    this.entries.set(entry.name, entry);
    return entry;
  }

  leave(name: string): void {
    this.entries.delete(name);
  }

  values(): IterableIterator<UserEntry> {
    return this.entries.values();
  }

  /** Pickled size of a metadata value, as `merge` counts it. */
  static sizeOf(value: PyValue): number {
    return encodePickle(value).length;
  }
}
