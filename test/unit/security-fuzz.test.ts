import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeChangeEvent } from '../../contracts/change-event.js';
import { ManifestInvalidError } from '../../loader/loader-errors.js';
import { parseManifest } from '../../loader/manifest-reader.js';
import { DEFAULT_PARQUET_READ_LIMITS, maxRowsForFile } from '../../parquet/parquet-bounds.js';
import { decodeWarehouseParquet, encodeWarehouseParquet } from '../../parquet/warehouse-parquet.js';
import { RunBuilder, removeRunFiles } from '../../replay/order/sorted-runs.js';
import { scanObject } from '../../replay/read/archived-line.js';
import { forEachGzipLine, forEachGzipLineBytes } from '../../replay/read/gzip-lines.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import { claimRows, rewriteFooter } from '../support/forged-parquet.js';
import { staffDim } from '../support/processed-batch-factory.js';

/**
 * Fuzz tests (fast-check) of every reader of untrusted bytes (issue 17): the gzip line splitter,
 * the archive line reader, the manifest and Parquet readers. Each property checks the reader's
 * bound (never more lines, issues or rows than allowed) and that it never throws what it must
 * report; the heap after all runs is compared with before, so a reader that kept what it read
 * would show. Seeds are fixed: a failure reproduces.
 */
const SEED = 17;
let heapBefore = 0;
beforeAll(() => {
  heapBefore = process.memoryUsage().heapUsed;
});
afterAll(() => {
  // Everything above is garbage by now: a generous bound that a leak of the inputs would exceed.
  expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
});

/** Reference model of the splitter: the lines before the first one over the bound, then its number and offset. */
function referenceSplit(text: Buffer, maxLineBytes: number): { lines: string[]; tail: string | null; tooLong: { line: number; byteOffset: number } | null } {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf(10, start);
    const end = nl === -1 ? text.length : nl;
    if (end - start > maxLineBytes) return { lines, tail: null, tooLong: { line: lines.length + 1, byteOffset: start } };
    if (nl === -1) return { lines, tail: start < text.length ? text.toString('utf8', start) : null, tooLong: null };
    lines.push(text.toString('utf8', start, nl));
    start = nl + 1;
  }
}

const lineText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('{}', '', '{"v":1}', 'not json', '\r'),
  // Lines that cross zlib's 256 KiB output chunks, so carried partial lines are exercised.
  fc.integer({ min: 100_000, max: 600_000 }).map((n) => 'z'.repeat(n)),
).map((s) => s.replaceAll('\n', ' '));

describe('fuzz: gzip line splitter', () => {
  it('delivers exactly the reference lines, stops at the first line over the bound, whole or streamed, in any member split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineText, { maxLength: 12 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 4 }),
        fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 64, max: 700_000 })),
        fc.boolean(),
        async (lines, trailingNewline, members, maxLineBytes, cutTrailer) => {
          const text = Buffer.from(lines.join('\n') + (trailingNewline && lines.length ? '\n' : ''));
          const parts: Buffer[] = [];
          const step = Math.ceil(text.length / members) || 1;
          for (let at = 0; at < text.length; at += step) parts.push(gzipSync(text.subarray(at, at + step), { level: 1 }));
          let gz = Buffer.concat(parts.length ? parts : [gzipSync(Buffer.alloc(0))]);
          // A cut trailer makes the one-piece inflate fail: the chunked stream reads it instead.
          if (cutTrailer) gz = gz.subarray(0, gz.length - 4);
          const expected = referenceSplit(text, maxLineBytes);
          const got: string[] = [];
          const bytes = await forEachGzipLineBytes(gz, (data, start, end) => void got.push(data.toString('utf8', start, end)), { maxLineBytes });
          expect(got).toEqual(expected.lines);
          expect(bytes.lineError ? { line: bytes.lineError.line, byteOffset: bytes.lineError.byteOffset } : null).toEqual(expected.tooLong);
          if (!cutTrailer) expect(bytes.gzipError).toBeNull();
          if (!expected.tooLong) expect(bytes.tail?.toString('utf8') ?? null).toBe(expected.tail);
          const strings: string[] = [];
          const asText = await forEachGzipLine(gz, (batch) => void strings.push(...batch), { maxLineBytes });
          expect(strings).toEqual(expected.lines);
          expect(asText.lineError?.line ?? null).toBe(expected.tooLong?.line ?? null);
        },
      ),
      { numRuns: 120, seed: SEED },
    );
  }, 120_000);

  it('random bytes never throw and never deliver more than the bound allows', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.boolean(), async (bytes, gzipHeader) => {
        const body = gzipHeader ? Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), bytes]) : Buffer.from(bytes);
        let longest = 0;
        const result = await forEachGzipLineBytes(body, (_d, start, end) => void (longest = Math.max(longest, end - start)), { maxLineBytes: 1024 });
        expect(longest).toBeLessThanOrEqual(1024);
        expect(result.lines).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});

describe('fuzz: archive line reader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'security-fuzz-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const validEvent = fc.integer({ min: 1, max: 1_000_000 }).map((id) => serializeChangeEvent(changeEvent('staff', 'c', sourceRow.staff({ staff_id: id }), { lsn: 0x1000 + id })));
  const mutatedEvent = fc.tuple(validEvent, fc.nat(), fc.string({ maxLength: 3 })).map(([line, at, insert]) => {
    const i = at % (line.length + 1);
    return (line.slice(0, i) + insert + line.slice(i + 1)).replaceAll('\n', '');
  });
  const anyJson = fc.json({ maxDepth: 3 }).map((j) => j.replaceAll('\n', ''));
  const archiveLine = fc.oneof(validEvent, mutatedEvent, anyJson, fc.constantFrom('{}', '', '[]', 'null', '{"v":1,"table":"staff"}'), fc.string({ maxLength: 30 }).map((s) => s.replaceAll('\n', '')));

  it('every non-blank line is either added or one issue; issues kept never exceed the cap, the rest are counted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(archiveLine, { maxLength: 60 }), fc.integer({ min: 1, max: 20 }), async (lines, maxIssuesPerFile) => {
        const runs = new RunBuilder({ tempDir: dir, budgetBytes: 1024 * 1024, filePrefix: 'fuzz' });
        try {
          const body = gzipSync(Buffer.from(lines.map((l) => `${l}\n`).join('')));
          const scan = await scanObject(body, 'changes/table=staff/date=2026-11-22/hour=12/f.gz', 0, runs, { maxLineBytes: 1 << 20, maxIssuesPerFile });
          const dropped = Object.values(scan.droppedIssues).reduce((a, b) => a + b!, 0);
          expect(scan.issues.length).toBeLessThanOrEqual(maxIssuesPerFile);
          expect(scan.lines).toBe(lines.length);
          expect(scan.added + scan.issues.length + dropped).toBe(lines.filter((l) => l.length > 0).length);
          for (const issue of scan.issues) expect(issue.line).toBeGreaterThanOrEqual(1);
        } finally {
          removeRunFiles(runs.runFiles);
        }
      }),
      { numRuns: 150, seed: SEED },
    );
  }, 120_000);
});

describe('fuzz: manifest and Parquet readers', () => {
  it('a manifest of any bytes is parsed or refused with ManifestInvalidError, nothing else', () => {
    const base = { v: 1, batchId: 'b', createdAt: '2026-11-22T12:00:00.000Z', eventCount: 1, firstEventId: 'a', lastEventId: 'a', minCommitTs: '2026-11-22T12:00:00.000Z', maxCommitTs: '2026-11-22T12:00:00.000Z', files: [] };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          fc.json().map((j) => Buffer.from(j)),
          fc.record({ key: fc.constantFrom(...Object.keys(base)), value: fc.jsonValue() }).map(({ key, value }) => Buffer.from(JSON.stringify({ ...base, [key]: value }))),
          fc.integer({ min: 0, max: 3000 }).map((n) => Buffer.from(JSON.stringify({ ...base, files: Array.from({ length: n }, () => ({ table: 'dim_staff', key: 'k', rows: 1, bytes: 1, sha256: '0'.repeat(64) })) }))),
        ),
        (bytes) => {
          try {
            const manifest = parseManifest('manifests/m.json', bytes);
            expect(manifest.files.length).toBeLessThanOrEqual(1000);
          } catch (error) {
            expect(error).toBeInstanceOf(ManifestInvalidError);
          }
        },
      ),
      { numRuns: 400, seed: SEED },
    );
  });

  const valid = encodeWarehouseParquet('dim_staff', Array.from({ length: 50 }, (_, i) => staffDim(i + 1, 5n)));

  it('a damaged or forged Parquet file decodes within the row bound or throws; never more rows than its size allows', async () => {
    const mutation = fc.oneof(
      // Flip bytes anywhere (pages, page headers, footer).
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((flips) => (bytes: Uint8Array) => {
        const copy = new Uint8Array(bytes);
        for (const [at, value] of flips) copy[at % copy.length] = value;
        return copy;
      }),
      // Truncate.
      fc.nat().map((n) => (bytes: Uint8Array) => bytes.subarray(0, n % bytes.length)),
      // Footer claims: rows, row-group rows, value counts, page offsets and sizes.
      fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 2 ** 40 })).map((rows) => (bytes: Uint8Array) => claimRows(bytes, rows)),
      fc.tuple(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 0, max: 2 ** 31 })).map(([values, size]) => (bytes: Uint8Array) =>
        rewriteFooter(bytes, (m) => ({
          ...m,
          row_groups: m.row_groups.map((g) => ({
            ...g,
            columns: g.columns.map((c, i) => (i % 2 ? c : { ...c, meta_data: { ...c.meta_data!, num_values: BigInt(values), total_compressed_size: BigInt(size) } })),
          })),
        })),
      ),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (mutate) => {
        let bytes: Uint8Array;
        try {
          bytes = mutate(valid);
        } catch {
          return; // the forgery itself could not be written
        }
        try {
          const rows = await decodeWarehouseParquet('dim_staff', bytes);
          expect(rows.length).toBeLessThanOrEqual(maxRowsForFile(bytes.byteLength, DEFAULT_PARQUET_READ_LIMITS));
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
        }
      }),
      { numRuns: 400, seed: SEED },
    );
  }, 120_000);
});
