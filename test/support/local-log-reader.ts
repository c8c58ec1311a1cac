/**
 * Child process for the cross-process reader test: reads a local log as consumer `reader` until it
 * has `expected` records or `timeoutMs` passed, printing after each non-empty read one JSON line
 * with the records seen so far: {"total": n, "last": "<data of the last record>"}.
 * Usage: node --import tsx local-log-reader.ts <dir> <shards> <expected> <timeoutMs>
 */
import { openLocalLog } from '../../stream/local-log/local-log.js';

const [dir, shards, expected, timeoutMs] = process.argv.slice(2);
const consumer = await openLocalLog(dir, { shards: Number(shards), pollIntervalMs: 10 }).consumer('reader');
const deadline = Date.now() + Number(timeoutMs);
let total = 0;
while (total < Number(expected) && Date.now() < deadline) {
  const groups = await consumer.read({ maxRecords: 1000, waitMs: 100 });
  const records = groups.flat();
  if (records.length === 0) continue;
  total += records.length;
  process.stdout.write(JSON.stringify({ total, last: Buffer.from(records.at(-1)!.data).toString('utf8') }) + '\n');
}
await consumer.close();
