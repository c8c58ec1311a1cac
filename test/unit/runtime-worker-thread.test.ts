import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { bundled, startWorker, workerScript } from '../../platform/worker-thread.js';

const ECHO = new URL('../support/workers/echo-worker.ts', import.meta.url);
const META = new URL('../support/workers/meta-worker.ts', import.meta.url);
const META_DIRNAME = new URL('../support/workers/meta-dirname-worker.ts', import.meta.url);

function firstMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.once('message', (message) => void worker.terminate().then(() => resolve(message)));
    worker.once('error', reject);
  });
}

/** Worker threads of this TypeScript project: from their cached bundle, or tsx registered in the worker. */
describe('startWorker', () => {
  it('bundles the module into plain JavaScript under node_modules/.cache, named by content, packages left as imports', async () => {
    const url = (await bundled(ECHO))!;
    expect(url).not.toBeNull();
    const file = fileURLToPath(url);
    expect(file).toMatch(/node_modules\/\.cache\/totesys-cdc\/bundles\/echo-worker-[0-9a-f]+\/echo-worker-[A-Z0-9]+\.mjs$/);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('function formatLsn'); // the project module is inside
    expect(text).not.toMatch(/from ["']\.\.?\//); // nothing relative to the source tree is imported
    expect(await workerScript(ECHO)).toEqual({ url, module: null }); // looked up once per process
  });

  it('runs the bundle, and the same module with tsx registered in the worker', async () => {
    expect(await firstMessage(startWorker(await workerScript(ECHO), { workerData: { lsn: '16/b374d848' } }))).toEqual({ lsn: '16/B374D848' });
    const viaTsx = await workerScript(ECHO, { bundle: false });
    expect(viaTsx.module).toBe(ECHO.href);
    expect(await firstMessage(startWorker(viaTsx, { workerData: { lsn: '0/1' } }))).toEqual({ lsn: '0/1' });
  });

  it('import.meta.url keeps its meaning in a bundle (the source file); a module reading other import.meta is not bundled', async () => {
    const url = await bundled(META);
    expect(url).not.toBeNull();
    expect(await firstMessage(startWorker(await workerScript(META)))).toEqual({ file: fileURLToPath(META) });
    expect(await bundled(META_DIRNAME)).toBeNull();
    expect(await firstMessage(startWorker(await workerScript(META_DIRNAME)))).toEqual({ dir: path.dirname(fileURLToPath(META_DIRNAME)) });
  });

  it('the replay workers bundle (scan and lane), the lane without the AWS SDK at start', async () => {
    for (const name of ['read/scan-worker', 'process/lane-worker']) {
      const url = await bundled(new URL(`../../replay/${name}.ts`, import.meta.url));
      expect(url, name).not.toBeNull();
      const text = fs.readFileSync(fileURLToPath(url!), 'utf8');
      expect(text, name).not.toMatch(/from ["']@aws-sdk\//);
    }
  });
});
