import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { writeFileAtomic } from './atomic-file.js';

/**
 * Starts a worker thread running one of this project's TypeScript modules.
 *
 * Worker threads do not inherit the TypeScript loader the CLI and the tests run under. Registering
 * tsx again in every worker cost about 0.7 s of CPU per thread (its own loader thread, and a round
 * trip to it for every module loaded, packages included), and a rebuild starts four workers. So
 * the module is bundled once per process with esbuild (tens of ms) into plain JavaScript in which
 * every package stays an import. The bundle is written under `node_modules/.cache/totesys-cdc/`, so
 * those imports resolve from this project's node_modules; its files are named by their content
 * hash, so a changed source makes new files and two processes never write different bytes to one name.
 *
 * When the module cannot be bundled (no esbuild, a read-only install, a module that reads
 * import.meta, whose meaning a bundle would change), the worker registers tsx itself
 * (worker-bootstrap.mjs), as it did before: slower to start, same behaviour.
 */
const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);
const CACHE_DIR = fileURLToPath(new URL('../node_modules/.cache/totesys-cdc', import.meta.url));

const scripts = new Map<string, Promise<URL | null>>();

/**
 * The script that runs `module` in a worker: its bundle (made once per process) or, when it cannot
 * be bundled (`bundle: false` forces this), the tsx bootstrap. Pass it to startWorker.
 */
export async function workerScript(module: URL, how: { bundle?: boolean } = {}): Promise<WorkerScript> {
  if (!/\.tsx?$/.test(module.pathname)) return { url: module, module: null };
  const bundle = how.bundle === false ? null : await bundled(module);
  return bundle ? { url: bundle, module: null } : { url: BOOTSTRAP, module: module.href };
}

export interface WorkerScript {
  url: URL;
  /** The module the bootstrap imports after registering tsx (null: `url` is the module itself). */
  module: string | null;
}

export function startWorker(script: WorkerScript, options: WorkerOptions = {}): Worker {
  if (!script.module) return new Worker(script.url, options);
  return new Worker(script.url, { ...options, workerData: { ...(options.workerData as object), module: script.module } });
}

/** The bundle of `module` (made once per process), or null when it cannot be made. */
export function bundled(module: URL): Promise<URL | null> {
  if (!scripts.has(module.href)) scripts.set(module.href, bundle(module));
  return scripts.get(module.href)!;
}

async function bundle(module: URL): Promise<URL | null> {
  try {
    const esbuild = await loadEsbuild();
    if (!esbuild) return null;
    const name = path.basename(module.pathname).replace(/\.tsx?$/, '');
    // Split: a dynamic import keeps its own chunk, so what a worker loads only on demand (the AWS
    // SDK behind the S3 store) is not loaded at its start. esbuild names every file by its content.
    const result = await esbuild.build({
      entryPoints: { [name]: fileURLToPath(module) },
      bundle: true,
      splitting: true,
      outdir: CACHE_DIR,
      entryNames: '[name]-[hash]',
      chunkNames: 'chunk-[hash]',
      outExtension: { '.js': '.mjs' },
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      write: false,
      logLevel: 'silent',
    });
    if (result.outputFiles.some((output) => output.text.includes('import.meta'))) return null;
    let file: string | null = null;
    for (const output of result.outputFiles) {
      if (path.basename(output.path).startsWith(`${name}-`)) file = output.path;
      if (fs.existsSync(output.path)) continue;
      await fs.promises.mkdir(path.dirname(output.path), { recursive: true });
      await writeFileAtomic(output.path, output.contents, { durable: false }); // a cache: rebuilt if lost
    }
    return file ? pathToFileURL(file) : null;
  } catch {
    return null;
  }
}

type Esbuild = typeof import('esbuild');

/** esbuild is loaded only here, when a worker is first started (its build service runs as a child process). */
async function loadEsbuild(): Promise<Esbuild | null> {
  try {
    const esbuild = (await import('esbuild')) as Esbuild & { default?: Esbuild };
    return esbuild.default ?? esbuild; // a CommonJS package: its exports are the default export
  } catch {
    return null;
  }
}
