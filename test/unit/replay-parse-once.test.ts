import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lineSortKey, versionSortKey } from '../../contracts/change-event.js';
import { openOrderedArchive } from '../../replay/order/ordered-archive.js';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import type { ChangeEvent } from '../../contracts/change-event.js';
import { silentLogger } from '../../platform/logger.js';
import { generateWorkload, putObject, type ArchivedEvent } from '../support/archive-workload.js';

/** What the scan must agree with: the key of the parsed line (null when it has none). */
function parsedKey(text: string): string | null | 'invalid-json' {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'invalid-json';
  }
  const event = value as ChangeEvent;
  if (typeof event?.id !== 'string' || typeof event.source?.commitLsn !== 'string') return null;
  return versionSortKey(event);
}

const samples = generateWorkload(300, { secondsBetweenTransactions: 5 });

/** Spellings of the same or a subtly different event that a text reader could get wrong. */
const variants: Array<(text: string, event: ChangeEvent) => string> = [
  (t) => t,
  (t) => t.replace('"id":', ' "id" : '), // whitespace: not canonical
  (t) => t.slice(0, -1) + ',"id":"0/1/7"}', // a repeated id: JSON.parse keeps the last
  (t) => t.slice(0, -1) + ',"source":{"lsn":"0/1","commitLsn":"0/2","xid":1,"commitTs":"x","snapshot":false}}',
  (t, e) => t.replace(`"id":"${e.id}"`, `"id":"${e.id.replace('/', '\\/')}"`), // an escape that decodes to the same id
  (t, e) => t.replace(`"id":"${e.id}"`, `"id":"${e.id}\\u0001"`), // a control character in the id
  (t) => t.replace('"after":{', '"after":{"id":"9/9/9","source":"{\\"commitLsn\\":\\"1/1\\"}",'), // look-alike members inside a row
  (t) => t.replace('"after":{', '"after":{"x":{"id":"9/9/9"},'), // a nested object inside a row (invalid event, any key)
  (t) => t.replace('"snapshot":false', '"snapshot":true').replace('"snapshot":true}}', '"snapshot":false,"snapshot":true}}'),
  (t) => t.replace('"commitLsn":"', '"commitLsn":" '), // padded LSN
  (t) => t.replace(/"commitLsn":"([0-9A-F]+)\//, (_, hi: string) => `"commitLsn":"${hi.toLowerCase()}/`),
  (t) => t.replace('"v":1', '"v":2'),
  (t) => t.slice(0, 60), // cut off
  (t) => t + ' ',
];

describe('replay reads each archived line once', () => {
  it('the sort key read from a line equals the key of the parsed line whenever it is given', () => {
    let given = 0;
    for (const { text, event } of samples) {
      for (const variant of variants) {
        const line = variant(text, event);
        const key = lineSortKey(line);
        if (key === null) continue;
        given++;
        const expected = parsedKey(line);
        if (expected !== 'invalid-json') expect(key, line).toBe(expected);
        expect(key).not.toMatch(/[\t\n\r]/);
      }
    }
    expect(given).toBeGreaterThan(samples.length); // the canonical spelling (and a few safe variants) take the fast path
    for (const { text } of samples) expect(lineSortKey(text)).toBe(parsedKey(text));

    // Random edits of canonical lines: a key is only ever given when it is the parsed one.
    const alphabet = fc.constantFrom('"', '\\', ',', ':', '{', '}', '[', ']', ' ', 'a', '1', 'id', '"id":', '"source":', 'true', '\\"');
    fc.assert(
      fc.property(fc.nat(samples.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.array(alphabet, { maxLength: 4 })), { minLength: 1, maxLength: 3 }), (index, edits) => {
        let line = samples[index]!.text;
        for (const [at, remove, insert] of edits) {
          const pos = at % (line.length + 1);
          line = line.slice(0, pos) + insert.join('') + line.slice(pos + remove);
        }
        const key = lineSortKey(line);
        const expected = parsedKey(line);
        if (key !== null && expected !== 'invalid-json') expect(key, line).toBe(expected);
      }),
      { numRuns: 4000 },
    );
  });

  describe('validation after the merge', () => {
    let root: string;
    let store: LocalDirObjectStore;
    beforeEach(async () => {
      root = await fs.mkdtemp(path.join(os.tmpdir(), 'parse-once-'));
      store = new LocalDirObjectStore(root);
    });
    afterEach(() => fs.rm(root, { recursive: true, force: true }));

    it('reports a canonical but invalid line with its file and line, and an invalid duplicate never hides the valid one', async () => {
      const events = generateWorkload(400, { secondsBetweenTransactions: 5 });
      const sales = events.filter((e) => e.event.table === 'sales_order' && e.event.op === 'c');
      const victim = sales[3]!;
      // Same id and version as the victim, but a create without an after image: invalid.
      const broken: ArchivedEvent = { ...victim, text: victim.text.replace(/"after":\{[^}]*\}/, '"after":null') };
      const unknownTable: ArchivedEvent = { ...sales[5]!, text: sales[5]!.text.replace('"table":"sales_order"', '"table":"no_such_table"') };
      expect(lineSortKey(broken.text)).not.toBeNull(); // both take the deferred path
      expect(lineSortKey(unknownTable.text)).not.toBeNull();
      // The broken copy is archived first (an earlier hour), so it comes first among equal keys.
      const first = await putObject(store, [sales[0]!, broken, unknownTable], events[0]!.arrivalMs - 3_600_000);
      for (const table of new Set(events.map((e) => e.event.table))) {
        const rows = events.filter((e) => e.event.table === table && e !== sales[5]);
        for (let i = 0; i < rows.length; i += 50) await putObject(store, rows.slice(i, i + 50));
      }

      const archive = await openOrderedArchive({ ingestion: store, logger: silentLogger, maxRunBytes: 64 * 1024 });
      const out: ChangeEvent[] = [];
      try {
        for await (const batch of archive.batches(37)) {
          out.push(...batch);
          expect(batch.length === 37 || out.length === events.length - 1).toBe(true); // full batches until the last
        }
      } finally {
        await archive.close();
      }
      expect(archive.merge.runs).toBeGreaterThan(1);
      expect(out.map((e) => e.id).sort()).toEqual(events.filter((e) => e !== sales[5]).map((e) => e.event.id).sort());
      expect(out.find((e) => e.id === victim.event.id)).toEqual(victim.event);
      expect(archive.issues.issues).toEqual([
        expect.objectContaining({ kind: 'invalid-event', file: first, line: 2, eventId: victim.event.id }),
        expect.objectContaining({ kind: 'unknown-table', file: first, line: 3 }),
      ]);
      expect(archive.merge.duplicates).toBe(1); // sales[0] twice; the broken copy is an issue, not a duplicate
      expect(archive.scan.eventsRead).toBe(events.length - 1 + 1); // valid lines, duplicates included
    });

    it('skips records that are not change events (watermarks) without reporting them, wherever they are in an object', async () => {
      const events = generateWorkload(120, { secondsBetweenTransactions: 5 });
      const watermark = '{"kind":"watermark","v":1,"ts":"2026-11-22T10:00:00.000Z","lsn":"0/16B3748","openShards":["shardId-000000000000"]}';
      const asLine = (text: string): ArchivedEvent => ({ ...events[0]!, text });
      await putObject(store, [asLine(watermark), ...events.slice(0, 60), asLine(` ${watermark}`)]);
      await putObject(store, events.slice(60));
      // The last line of an object without its newline (Firehose without the delimiter processor).
      const key = 'changes/table=sales_order/date=2026-11-22/hour=10/totesys-cdc-1-tail.json.gz';
      await store.put(key, gzipSync(`${events[0]!.text}\n${watermark}`));

      const archive = await openOrderedArchive({ ingestion: store, logger: silentLogger });
      const out: ChangeEvent[] = [];
      try {
        for await (const batch of archive.batches(50)) out.push(...batch);
      } finally {
        await archive.close();
      }
      expect(archive.issues.total).toBe(0);
      expect(archive.scan.otherRecords).toBe(3);
      expect(out.map((e) => e.id).sort()).toEqual(events.map((e) => e.event.id).sort());
    });
  });
});
