// Entry of a worker thread when its TypeScript module could not be bundled (worker-thread.ts):
// worker threads do not inherit the TypeScript loader the main thread runs under (tsx, vitest), so
// the worker registers tsx itself, then loads its module.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
