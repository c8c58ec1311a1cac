// Preload (`node --import <this file>`, also in NODE_OPTIONS): when a thread of the process ends,
// writes the CommonJS modules it loaded (the module cache's file names, one a line) to
// `$LOADED_MODULES_DIR/<pid>-<threadId>.txt`. Node runs --import preloads in worker threads too, so
// the processor worker writes its own list. The AWS SDK's packages are CommonJS (dist-cjs), loaded
// through this cache whether imported or required; test/integration/startup-modules.test.ts says so.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';

const Module = createRequire(import.meta.url)('node:module');
const dir = process.env.LOADED_MODULES_DIR;

function write() {
  if (!dir) return;
  fs.writeFileSync(path.join(dir, `${process.pid}-${threadId}.txt`), `${Object.keys(Module._cache).join('\n')}\n`);
}

process.on('exit', write);
// A worker thread may be ended (terminate) without its 'exit' event: write as it goes too.
if (!isMainThread) setInterval(write, 100).unref();
