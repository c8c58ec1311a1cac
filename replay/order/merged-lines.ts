import type { ChangeEvent } from '../../contracts/change-event.js';
import { originOf, readCanonicalEvent, type IssueSink } from '../read/archived-line.js';
import { FLAG_SAME_KEY, FLAG_VALIDATED } from './sorted-runs.js';

/**
 * Turns merged lines (sorted-runs.ts) back into events, one line at a time and in merge order:
 * parses each line once, validates the ones the scan deferred (reporting a bad one with its file and
 * line, exactly as the scan would have) and drops duplicates. Copies of one event are adjacent
 * (FLAG_SAME_KEY); the first VALID one is kept, so an invalid line never hides a valid duplicate.
 * Used by ordered-archive.ts (batches) and by each processing lane (replay/process/lane.ts).
 */
export class MergedLineDecoder {
  /** Valid copies of an event already kept. */
  duplicates = 0;
  /** Deferred lines that failed validation (the scan counted them as read). */
  invalid = 0;
  private keptOfKey = false;

  /** `files`: object keys by their index in the listing (origins name them). */
  constructor(
    private readonly files: readonly string[],
    private readonly issues: IssueSink,
  ) {}

  /** The event of line `text[start, end)`, or null (invalid, reported; or a duplicate). */
  decode(text: Buffer, start: number, end: number, origin: number, flags: number): ChangeEvent | null {
    if ((flags & FLAG_SAME_KEY) === 0) this.keptOfKey = false;
    const line = text.toString('utf8', start, end);
    let event: ChangeEvent | null;
    if (flags & FLAG_VALIDATED) {
      event = JSON.parse(line) as ChangeEvent; // the scan parsed and validated this very text
    } else {
      const at = originOf(origin);
      event = readCanonicalEvent(line, this.files[at.objectIndex]!, at.line, this.issues);
      if (!event) {
        this.invalid++;
        return null;
      }
    }
    if (this.keptOfKey) {
      this.duplicates++;
      return null;
    }
    this.keptOfKey = true;
    return event;
  }
}
