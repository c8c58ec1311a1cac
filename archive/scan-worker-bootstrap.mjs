// Entry of a replay scan worker (scan-pool.ts). Worker threads do not inherit the TypeScript loader
// the main thread runs under (tsx, vitest), so the worker registers tsx itself, then loads the
// worker module, which is TypeScript like the rest of the project.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
