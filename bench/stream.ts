/**
 * Local log put throughput: 500-record batches (one fsync per touched shard per batch), next to a
 * baseline of raw appendFile + fsync of the same bytes per batch into one file.
 * Usage: npx tsx bench/stream.ts [records=50000] [recordBytes=400] [shards=4]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodeFrame } from '../stream/local-log/frame-codec.js';
import { openLocalLog } from '../stream/local-log/local-log.js';

const [records = 50_000, recordBytes = 400, shards = 4] = process.argv.slice(2).map(Number);
const BATCH = 500;
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-stream-'));
const payload = (i: number) => Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(recordBytes) }).slice(0, recordBytes));
const batches: { partitionKey: string; data: Uint8Array }[][] = [];
for (let i = 0; i < records; i += BATCH) {
  batches.push(Array.from({ length: Math.min(BATCH, records - i) }, (_, j) => ({ partitionKey: `sales_order:${(i + j) % 5000}`, data: payload(i + j) })));
}
const totalBytes = batches.flat().reduce((n, r) => n + r.data.length, 0);

try {
  const log = openLocalLog(path.join(root, 'log'), { shards });
  const writer = await log.writer();
  let started = performance.now();
  for (const batch of batches) await writer.put(batch);
  const logMs = performance.now() - started;
  await writer.close();

  // Baseline: the same frames' bytes, appended to one file, one fsync per batch.
  const frames = batches.map((batch) => Buffer.concat(batch.map((r, i) => encodeFrame({ offset: i, arrivalMs: Date.now(), partitionKey: r.partitionKey, data: r.data }))));
  const handle = await fs.open(path.join(root, 'baseline.bin'), 'a');
  started = performance.now();
  for (const bytes of frames) {
    await handle.appendFile(bytes);
    await handle.sync();
  }
  const baselineMs = performance.now() - started;
  await handle.close();

  const consumer = await log.consumer('bench');
  started = performance.now();
  let read = 0;
  while (read < records) read += (await consumer.read({ maxRecords: 5000, waitMs: 0 })).flat().length;
  const readMs = performance.now() - started;
  await consumer.close();

  const rate = (ms: number) => ({ recordsPerSec: Math.round(records / (ms / 1000)), mbPerSec: +(totalBytes / 1048576 / (ms / 1000)).toFixed(1) });
  console.log(
    JSON.stringify(
      {
        records,
        recordBytes,
        shards,
        batch: BATCH,
        localLogPut: { ms: Math.round(logMs), ...rate(logMs) },
        baselineAppendFsync: { ms: Math.round(baselineMs), ...rate(baselineMs) },
        ratioLocalLogToBaseline: +(baselineMs / logMs).toFixed(2),
        localLogRead: { ms: Math.round(readMs), ...rate(readMs) },
      },
      null,
      2,
    ),
  );
} finally {
  await fs.rm(root, { recursive: true, force: true });
}
