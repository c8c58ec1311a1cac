import { statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileDurable } from '../platform/atomic-file.js';
import { ObjectNotFoundError, describableAdapters, type DescribedObjectStore, type ObjectInfo, type ObjectStoreDescription } from './object-store.js';

/**
 * A bucket as a directory: key `a/b/c.parquet` is file `<root>/a/b/c.parquet`. Writes go to a temp
 * file that is fsynced and renamed, so a reader never sees a half-written object and an object that
 * `put` reported is on disk (the durability the S3 adapter gets from a 200 response).
 */
export class LocalDirObjectStore implements DescribedObjectStore {
  readonly location: string;
  readonly description: ObjectStoreDescription;

  constructor(private readonly root: string) {
    this.location = pathToFileURL(root).toString();
    this.description = { kind: 'local', root };
  }

  private fileOf(key: string): string {
    if (!key || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      throw new RangeError(`invalid object key: ${JSON.stringify(key)}`);
    }
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const file = this.fileOf(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileDurable(file, body);
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return await fs.readFile(this.fileOf(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(key, this.location);
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await fs.stat(this.fileOf(key))).isFile();
    } catch {
      return false;
    }
  }

  async *list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ObjectInfo> {
    // Walk only the directories that can hold keys with this prefix, in key order.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    yield* this.walk(dirKey, prefix, options.startAfter);
  }

  private async *walk(dirKey: string, prefix: string, startAfter: string | undefined): AsyncIterable<ObjectInfo> {
    const dir = dirKey ? path.join(this.root, ...dirKey.split('/')) : this.root;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    // Only entries that can hold or be keys after startAfter with this prefix, then sorted as S3
    // sorts, by the full key: a directory `a` sorts as `a/`. (A drain lists the manifests of the
    // last seconds every 250 ms: filtering first keeps that from sorting the whole day's directory.)
    const base = dirKey ? `${dirKey}/` : '';
    const named: { name: string; sortKey: string; isDirectory: boolean }[] = [];
    for (const entry of entries) {
      if (entry.name.endsWith('.tmp')) continue;
      const isDirectory = entry.isDirectory();
      const sortKey = base + entry.name + (isDirectory ? '/' : '');
      if (isDirectory) {
        if (!(sortKey.startsWith(prefix) || prefix.startsWith(sortKey))) continue;
        if (startAfter && sortKey < startAfter && !startAfter.startsWith(sortKey)) continue;
      } else if (!(entry.isFile() && sortKey.startsWith(prefix) && (!startAfter || sortKey > startAfter))) continue;
      named.push({ name: entry.name, sortKey, isDirectory });
    }
    named.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const { name, sortKey, isDirectory } of named) {
      if (isDirectory) yield* this.walk(sortKey.slice(0, -1), prefix, startAfter);
      else yield lazySizeInfo(sortKey, path.join(dir, name));
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.fileOf(key), { force: true });
  }
}

describableAdapters.add(LocalDirObjectStore.prototype);

/**
 * An ObjectInfo whose size is read (one stat, then kept) only when asked: the loader lists
 * manifests for their keys alone, several times a second in a drain, and a stat per listed key was
 * most of that listing's cost; replay, which sums sizes, asks. An object deleted between listing
 * and the question throws ENOENT, as the stat during the listing did before.
 */
function lazySizeInfo(key: string, file: string): ObjectInfo {
  let size: number | undefined;
  return {
    key,
    get size() {
      size ??= statSync(file).size;
      return size;
    },
  };
}
