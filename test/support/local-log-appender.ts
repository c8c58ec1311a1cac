/**
 * Child process for the kill -9 test: appends batches to a local log in a loop and prints
 * `ack <batch>` after each `put` resolved (i.e. after fsync). Batch i holds, for each key k0..k9,
 * the records n = 2i and n = 2i + 1, so a reader can check per-key order and completeness.
 * Usage: node --import tsx local-log-appender.ts <dir> <shards> <dataBytes>
 */
import { openLocalLog } from '../../stream/local-log/local-log.js';

const [dir, shards, dataBytes] = process.argv.slice(2);
const log = openLocalLog(dir, { shards: Number(shards), segmentBytes: 256 * 1024 });
const writer = await log.writer();
const padding = 'x'.repeat(Number(dataBytes));
process.stdout.write('ready\n');
for (let batch = 0; batch < 100_000; batch++) {
  const records = [];
  for (let j = 0; j < 20; j++) {
    const key = `k${j % 10}`;
    records.push({ partitionKey: key, data: Buffer.from(JSON.stringify({ key, n: batch * 2 + Math.floor(j / 10), padding })) });
  }
  await writer.put(records);
  process.stdout.write(`ack ${batch}\n`);
}
