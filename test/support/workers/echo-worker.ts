import { parentPort, workerData } from 'node:worker_threads';
import { formatLsn, parseLsn } from '../../../contracts/lsn.js';

// A worker that needs a project module: answers with the LSN it was given, parsed and formatted back.
parentPort!.postMessage({ lsn: formatLsn(parseLsn((workerData as { lsn: string }).lsn)) });
