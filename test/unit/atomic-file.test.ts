import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileDurable } from '../../platform/atomic-file.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'atomic-file-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('atomic file writes', () => {
  it('replace the content as one step, durable or not, and leave no temp file', async () => {
    const file = path.join(dir, 'checkpoint.json');
    await writeFileDurable(file, 'old');
    await writeFileAtomic(file, new Uint8Array([110, 101, 119]), { durable: false });
    expect(await fs.readFile(file, 'utf8')).toBe('new');
    expect(await fs.readdir(dir)).toEqual(['checkpoint.json']);
  });

  it('a reader racing many rewrites only ever sees a whole version', async () => {
    const file = path.join(dir, 'status.json');
    const versions = Array.from({ length: 40 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(64 * 1024) }));
    await writeFileAtomic(file, versions[0], { durable: false });
    let done = false;
    const reader = (async () => {
      let reads = 0;
      while (!done) {
        expect(versions).toContain(await fs.readFile(file, 'utf8'));
        reads++;
      }
      return reads;
    })();
    for (const version of versions) await writeFileAtomic(file, version, { durable: false });
    done = true;
    expect(await reader).toBeGreaterThan(0);
  });

  it('removes its temp file when the rename fails, and rethrows', async () => {
    const target = path.join(dir, 'taken');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'inside'), 'x'); // a non-empty directory cannot be replaced by a file
    await expect(writeFileDurable(target, 'content')).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) });
    expect((await fs.readdir(dir)).sort()).toEqual(['taken']);
  });
});
