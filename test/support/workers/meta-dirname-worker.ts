import { parentPort } from 'node:worker_threads';

// Reads import.meta.dirname, whose value a bundle would change: it must run from its own file.
parentPort!.postMessage({ dir: import.meta.dirname });
