import path from 'node:path';
import { REPO_ROOT } from '../repo-paths.js';
import { buildImageBundles } from './image-bundles.js';

/**
 * `node --import tsx infra/image/build-image-bundles.ts <outDir>`: the capture image's build stage
 * runs this (capture/Dockerfile); the infra tests run buildImageBundles itself.
 */
const outDir = process.argv[2];
if (!outDir) {
  process.stderr.write('usage: build-image-bundles.ts <outDir>\n');
  process.exit(2);
}
const result = await buildImageBundles(REPO_ROOT, path.resolve(outDir));
process.stdout.write(`${JSON.stringify({ outDir, files: result.files, packages: result.packages.length })}\n`);
