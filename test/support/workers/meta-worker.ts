import { parentPort } from 'node:worker_threads';

// Reads import.meta.url: a bundle replaces it by this file's URL (module-bundle.mjs), so it means the same.
parentPort!.postMessage({ file: new URL(import.meta.url).pathname });
