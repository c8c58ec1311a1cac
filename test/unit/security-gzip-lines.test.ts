import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_LINE_BYTES, forEachGzipLine, forEachGzipLineBytes } from '../../replay/read/gzip-lines.js';
import { scanObject } from '../../replay/read/archived-line.js';
import { RunBuilder, removeRunFiles } from '../../replay/order/sorted-runs.js';

/** Issue 17 point 2: archived objects that are tiny compressed and huge, or hostile, decompressed. */
let dir: string;
let runs: RunBuilder;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'security-gzip-'));
  runs = new RunBuilder({ tempDir: dir, budgetBytes: 8 * 1024 * 1024, filePrefix: 'run' });
});
afterEach(async () => {
  removeRunFiles(runs.runFiles);
  await fs.rm(dir, { recursive: true, force: true });
});

/** gzip of `count` copies of `line` + '\n', built from repeated members (no huge string in the test). */
function gzipRepeated(line: string, count: number): Buffer {
  const perMember = 1_000_000;
  const member = gzipSync(Buffer.from(`${line}\n`.repeat(perMember)), { level: 9 });
  const members: Buffer[] = [];
  for (let left = count; left > 0; left -= perMember) members.push(left >= perMember ? member : gzipSync(Buffer.from(`${line}\n`.repeat(left))));
  return Buffer.concat(members);
}

describe('archived objects within bounds', () => {
  it('an object of millions of `{}` lines keeps 1000 issues and counts the rest: memory stays bounded', async () => {
    const lines = 4_000_000;
    const body = gzipRepeated('{}', lines);
    expect(body.byteLength).toBeLessThan(64 * 1024);
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const scan = await scanObject(body, 'changes/table=staff/date=2026-11-22/hour=12/bomb.gz', 0, runs);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(scan.lines).toBe(lines);
    expect(scan.added).toBe(0);
    expect(scan.issues).toHaveLength(1000);
    expect(scan.issues[0]).toMatchObject({ kind: 'unsupported-version', line: 1 });
    expect(scan.droppedIssues).toEqual({ 'unsupported-version': lines - 1000 });
    // 4M issue objects would be several hundred MB.
    expect(heapGrowth).toBeLessThan(100 * 1024 * 1024);
  }, 120_000);

  it('the per-object cap is a setting', async () => {
    const scan = await scanObject(gzipRepeated('nope', 50), 'f.gz', 0, runs, { maxLineBytes: DEFAULT_MAX_LINE_BYTES, maxIssuesPerFile: 7 });
    expect(scan.issues).toHaveLength(7);
    expect(scan.droppedIssues).toEqual({ 'malformed-json': 43 });
  });

  for (const [name, megabytes] of [['inflated whole', 48], ['streamed', 96]] as const) {
    it(`a gzip with no newline (${megabytes} MiB, ${name}) stops at the line bound with its position, quickly`, async () => {
      // Two lines, then no newline at all (one member per MiB: the object stays small compressed).
      const noNewline = Buffer.concat([gzipSync(Buffer.from('{"v":1}\n{"v":2}\n')), ...Array.from({ length: megabytes }, () => gzipSync(Buffer.alloc(1024 * 1024, 0x61)))]);
      const started = performance.now();
      const delivered: number[] = [];
      const result = await forEachGzipLineBytes(noNewline, (_data, _start, _end, line) => void delivered.push(line));
      const elapsedMs = performance.now() - started;
      expect(delivered).toEqual([1, 2]);
      expect(result.lineError).toMatchObject({ line: 3, byteOffset: 16, maxLineBytes: DEFAULT_MAX_LINE_BYTES });
      expect(result.lineError!.message).toMatch(/line 3 .*byte 16.*TOTESYS_MAX_LINE_BYTES/);
      expect(result.tail).toBeNull();
      expect(elapsedMs).toBeLessThan(15_000);
      const scan = await scanObject(noNewline, 'changes/x.gz', 0, runs);
      // The two short lines are issues of their own; the long one fails the object.
      expect(scan.issues.map((issue) => issue.kind)).toHaveLength(3);
      expect(scan.issues[2]).toMatchObject({ file: 'changes/x.gz', line: 3, message: expect.stringContaining('byte 16') });
    }, 60_000);
  }

  it('a long line under the bound, split over many chunks, is joined once and delivered exactly (linear)', async () => {
    const long = 'y'.repeat(5 * 1024 * 1024 + 17);
    const text = `first\n${long}\nlast\n`;
    // Truncated trailer: the whole-object inflate fails, the chunked stream delivers the lines.
    const gz = gzipSync(Buffer.from(text));
    const damaged = gz.subarray(0, gz.byteLength - 4);
    const got: string[] = [];
    const result = await forEachGzipLine(damaged, (lines) => void got.push(...lines));
    expect(result.gzipError).not.toBeNull();
    expect(got).toEqual(['first', long, 'last']);
    // A lower bound fails the same line, and lines before it are still delivered.
    const bounded: string[] = [];
    const short = await forEachGzipLine(damaged, (lines) => void bounded.push(...lines), { maxLineBytes: 1024 * 1024 });
    expect(bounded).toEqual(['first']);
    expect(short.lineError).toMatchObject({ line: 2, byteOffset: 6 });
  });
});
