import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';

export interface TempObjectStore {
  /** This test's directory, removed after it. */
  readonly root: string;
  /** A local object store over `root`. */
  readonly store: LocalDirObjectStore;
}

/** Per test, a fresh temp directory (`<prefix>…`) with a local object store over it; removed after the test. */
export function useTempObjectStore(prefix: string): TempObjectStore {
  let root: string | undefined;
  let store: LocalDirObjectStore | undefined;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
    store = new LocalDirObjectStore(root);
  });
  afterEach(async () => {
    if (root) await fs.rm(root, { recursive: true, force: true });
  });
  return {
    get root() {
      return root!;
    },
    get store() {
      return store!;
    },
  };
}
