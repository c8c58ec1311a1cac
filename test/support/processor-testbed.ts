import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { silentLogger } from '../../platform/logger.js';
import { LocalJoinStateStore } from '../../stream-processors/state/local-join-state-store.js';
import { RecordingObjectStore } from './recording-object-store.js';

export interface ProcessorTestbed {
  /** A temp dir, removed after each test. */
  dir: string;
  /** The processed bucket (`<dir>/processed`), recording what the processor writes. */
  bucket: RecordingObjectStore;
  /** The join state (`<dir>/state`), closed after each test. */
  state: LocalJoinStateStore;
}

/**
 * What a stream-processor test processes into, fresh for each test (call it at the top of the file
 * or in a `describe`): a temp dir holding a recording processed bucket and a local join state.
 * Read the fields inside tests.
 */
export function useProcessorTestbed(label: string): ProcessorTestbed {
  const testbed = {} as ProcessorTestbed;
  beforeEach(async () => {
    testbed.dir = await fs.mkdtemp(path.join(os.tmpdir(), `${label}-`));
    testbed.bucket = new RecordingObjectStore(new LocalDirObjectStore(path.join(testbed.dir, 'processed')));
    testbed.state = await LocalJoinStateStore.open(path.join(testbed.dir, 'state'), silentLogger);
  });
  afterEach(async () => {
    await testbed.state?.close();
    if (testbed.dir) await fs.rm(testbed.dir, { recursive: true, force: true });
  });
  return testbed;
}
