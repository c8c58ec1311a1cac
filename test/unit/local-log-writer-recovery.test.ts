import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLocalLog } from '../../stream/local-log/local-log.js';

/**
 * The writer's recovery at open (local-log-writer.ts recoverTail) keeps exactly the complete,
 * CRC-valid frames at their expected offsets and truncates the rest, whether it checks a frame on
 * the buffered skip path or by decoding it.
 */
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

async function logWith(records: number) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'log-recovery-'));
  dirs.push(dir);
  const log = openLocalLog(dir, { shards: 1 });
  const writer = await log.writer();
  await writer.put(Array.from({ length: records }, (_, n) => ({ partitionKey: 'k', data: Buffer.from(JSON.stringify({ n, pad: 'x'.repeat(100 + n) })) })));
  await writer.close();
  const shardDir = path.join(dir, 'shards', 'shardId-000000000000');
  const [segment] = (await fs.readdir(shardDir)).filter((name) => name.endsWith('.seg'));
  return { log, segment: path.join(shardDir, segment!) };
}

async function readAll(log: ReturnType<typeof openLocalLog>): Promise<number[]> {
  const consumer = await log.consumer(`c${Math.random().toString(36).slice(2)}`);
  const out: number[] = [];
  for (;;) {
    const shards = await consumer.read({ maxRecords: 1000, waitMs: 0 });
    if (shards.length === 0) break;
    for (const record of shards.flat()) out.push(JSON.parse(Buffer.from(record.data).toString()).n);
  }
  await consumer.close();
  return out;
}

describe('local log writer recovery', () => {
  it('truncates at the first frame whose CRC fails, even a complete one in the middle, and appends after the last valid one', async () => {
    const { log, segment } = await logWith(50);
    const bytes = await fs.readFile(segment);
    // Find frame 20's start by walking the frame lengths, then flip a byte of its data.
    let position = 0;
    for (let i = 0; i < 20; i++) position += 8 + bytes.readUInt32BE(position);
    const frame20 = position;
    bytes[frame20 + 8 + 18 + 1 + 5] ^= 0x01;
    await fs.writeFile(segment, bytes);

    const writer = await log.writer();
    expect((await fs.stat(segment)).size).toBe(frame20);
    await writer.put([{ partitionKey: 'k', data: Buffer.from(JSON.stringify({ n: 1000 })) }]);
    await writer.close();
    expect(await readAll(log)).toEqual([...Array.from({ length: 20 }, (_, n) => n), 1000]);
  });

  it('keeps every frame of an intact segment', async () => {
    const { log, segment } = await logWith(300);
    const size = (await fs.stat(segment)).size;
    const writer = await log.writer();
    expect((await fs.stat(segment)).size).toBe(size);
    await writer.put([{ partitionKey: 'k', data: Buffer.from(JSON.stringify({ n: 300 })) }]);
    await writer.close();
    expect(await readAll(log)).toEqual(Array.from({ length: 301 }, (_, n) => n));
  });
});
