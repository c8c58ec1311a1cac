import { parentPort } from 'node:worker_threads';

// Reads import.meta, whose value a bundle would change: it must run from its own file.
parentPort!.postMessage({ file: new URL(import.meta.url).pathname });
