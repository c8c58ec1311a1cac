import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the code that runs in AWS lives, relative to the repository root. The CDK app bundles these
 * exact files (Lambdas with the local esbuild, the capture as a container image built from the root).
 */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const ENTRY = {
  processorHandler: path.join(REPO_ROOT, 'stream-processors', 'lambda', 'kinesis-handler.ts'),
  loaderHandler: path.join(REPO_ROOT, 'loader', 'lambda', 'schedule-handler.ts'),
  slotMonitorHandler: path.join(REPO_ROOT, 'monitor', 'lambda', 'slot-monitor-handler.ts'),
  captureDockerfile: path.join('capture', 'Dockerfile'),
  lockFile: path.join(REPO_ROOT, 'package-lock.json'),
} as const;
