import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Every temp-file-and-rename write goes through here. Both variants replace `file` as one step:
 * a reader (or a process killed mid-write) sees the old content or the new, never a mix, and a
 * failed write leaves no temp file behind. Temp files end in `.tmp` (listings skip them).
 */
export interface AtomicWriteOptions {
  /**
   * true: also survive power loss: fsync the temp file before the rename and the directory after
   * it (which makes the rename itself durable). For anything a later step relies on: checkpoints,
   * bucket objects, join state. false: status files, caches and locks that a crash makes stale anyway.
   */
  durable: boolean;
  /** Permission bits of the new file (default 0o666 minus the umask), e.g. 0o600 for a private file. */
  mode?: number;
}

export async function writeFileAtomic(file: string, content: string | Uint8Array, options: AtomicWriteOptions): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await fs.open(temp, 'w', options.mode);
    try {
      await handle.writeFile(content);
      if (options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  if (options.durable) await syncDirectory(path.dirname(file));
}

/** writeFileAtomic with `durable: true`. */
export function writeFileDurable(file: string, content: string | Uint8Array): Promise<void> {
  return writeFileAtomic(file, content, { durable: true });
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads a JSON file; undefined when it does not exist. */
export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
