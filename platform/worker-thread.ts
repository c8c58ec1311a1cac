import { Worker, type WorkerOptions } from 'node:worker_threads';
import { cachedBundle } from './module-bundle.mjs';

/**
 * Starts a worker thread running one of this project's TypeScript modules.
 *
 * Worker threads do not inherit the TypeScript loader the CLI and the tests run under. Registering
 * tsx again in every worker cost about 0.7 s of CPU per thread (its own loader thread, and a round
 * trip to it for every module loaded, packages included), and a rebuild starts four workers. So
 * the module runs from its cached bundle (module-bundle.mjs: plain JavaScript in which every
 * package stays an import, remade only when a source changed, so a start normally runs no esbuild).
 *
 * When the module cannot be bundled (no esbuild, a read-only install, a module that reads
 * import.meta other than import.meta.url, whose meaning a bundle would change), the worker
 * registers tsx itself (worker-bootstrap.mjs), as it did before: slower to start, same behaviour.
 */
const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);

const scripts = new Map<string, Promise<URL | null>>();

/**
 * The script that runs `module` in a worker: its bundle (looked up once per process) or, when it
 * cannot be bundled (`bundle: false` forces this), the tsx bootstrap. Pass it to startWorker.
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

/** The bundle of `module` (looked up or made once per process), or null when it cannot be made. */
export function bundled(module: URL): Promise<URL | null> {
  if (!scripts.has(module.href)) scripts.set(module.href, cachedBundle(module));
  return scripts.get(module.href)!;
}
