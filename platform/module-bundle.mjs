// Plain JavaScript (no TypeScript loader is running yet when bin/totesys-cdc.js imports it); its
// types are in module-bundle.d.mts.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * A TypeScript entry module of this project as one cached esbuild bundle: plain JavaScript that
 * Node runs without a TypeScript loader. The CLI (bin/totesys-cdc.js) and the worker threads
 * (worker-thread.ts) start from it: running the TypeScript through tsx cost the CLI about 1 s of
 * every start (tsx's loader thread, a round trip to it for every module, packages included), and
 * building a worker's bundle anew in every process cost an esbuild service process each time.
 *
 * The bundle is code split (a dynamic import keeps its own chunk, so what a command loads only on
 * demand is still not loaded at start) and every package stays an import, resolved from this
 * project's node_modules: it is written under `node_modules/.cache/totesys-cdc/bundles/`. Its files
 * are named by their content, so two processes never write different bytes to one name.
 *
 * Validity: a manifest beside the files lists every source file the bundle was made from with its
 * size, mtime and ctime (nanoseconds). A start that finds all of them unchanged imports the bundle
 * at once (a stat per source file, a few ms); any change, a file rewritten with its old mtime too
 * (its ctime moves), makes a new bundle (about 0.3-1 s, once). A source edited while a bundle is
 * made is used this time but not recorded, so the next start makes it again.
 *
 * `import.meta.url` in a source file is replaced by that file's own URL, so what it locates beside
 * itself (a worker module, schema.sql, the dashboard's static files) is where it was; a bundle in
 * which any other `import.meta` remains is not made (null), and the caller runs the TypeScript
 * source as before. So are a missing esbuild and an unwritable cache: null, never an error.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'totesys-cdc', 'bundles');
/** Files of earlier bundles are removed after this long; a process still running one may load a lazy chunk of it until then. */
const STALE_AFTER_MS = 7 * 24 * 60 * 60 * 1000;
/** Bumped when what this module writes changes shape: older manifests are then rebuilt. */
const FORMAT = 1;

/** The bundle of `entry` (a file: URL of a .ts module of this project), made or reused; null when it cannot be made. */
export async function cachedBundle(entry, options = {}) {
  try {
    const entryFile = fileURLToPath(entry);
    const name = path.basename(entryFile).replace(/\.[cm]?tsx?$/, '');
    // One directory per entry file: worktrees or clones sharing a node_modules keep their own.
    const dir = path.join(options.cacheDir ?? CACHE_DIR, `${name}-${crypto.createHash('sha1').update(entryFile).digest('hex').slice(0, 12)}`);
    const manifestFile = path.join(dir, 'manifest.json');
    const reused = readValid(manifestFile, dir);
    if (reused) return pathToFileURL(reused);
    return await build(entryFile, name, dir, manifestFile);
  } catch {
    return null;
  }
}

/** The entry file a valid manifest names, or null (missing, another format, a source changed). */
function readValid(manifestFile, dir) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  } catch {
    return null;
  }
  if (manifest?.format !== FORMAT || typeof manifest.entry !== 'string' || !Array.isArray(manifest.inputs)) return null;
  for (const [file, stamp] of manifest.inputs) if (stampOf(file) !== stamp) return null;
  const entryFile = path.join(dir, manifest.entry);
  return fs.existsSync(entryFile) ? entryFile : null;
}

/** size:mtime:ctime in nanoseconds, or null for a file that is gone. */
function stampOf(file) {
  try {
    const stat = fs.statSync(file, { bigint: true });
    return `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  } catch {
    return null;
  }
}

async function build(entryFile, name, dir, manifestFile) {
  const esbuild = await loadEsbuild();
  if (!esbuild) return null;
  const startedMs = Date.now();
  const result = await esbuild.build({
    entryPoints: { [name]: entryFile },
    absWorkingDir: ROOT,
    bundle: true,
    splitting: true,
    outdir: dir,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    metafile: true,
    write: false,
    logLevel: 'silent',
    plugins: [importMetaUrlOfSource],
  });
  const code = result.outputFiles.filter((output) => output.path.endsWith('.mjs'));
  if (code.some((output) => IMPORT_META.test(output.text))) return null;
  const entryOutput = Object.entries(result.metafile.outputs).find(([, output]) => output.entryPoint && path.resolve(ROOT, output.entryPoint) === entryFile)?.[0];
  if (!entryOutput) return null;
  const entryPath = path.resolve(ROOT, entryOutput);

  fs.mkdirSync(dir, { recursive: true });
  const written = new Set(['manifest.json']);
  for (const output of result.outputFiles) {
    written.add(path.basename(output.path));
    if (!fs.existsSync(output.path)) writeAtomic(output.path, output.contents);
  }
  // What the bundle was made from: its sources, plus what changes how they are bundled.
  const sources = Object.keys(result.metafile.inputs).map((input) => path.resolve(ROOT, input));
  sources.push(path.join(ROOT, 'tsconfig.json'), path.join(ROOT, 'package.json'), fileURLToPath(import.meta.url), esbuildPackageJson());
  const inputs = sources.map((file) => [file, stampOf(file)]);
  // A source changed during the build: this bundle may hold the old text. Use it this once; the
  // next start makes a new one.
  const changed = sources.some((file) => {
    try {
      const stat = fs.statSync(file);
      return stat.mtimeMs >= startedMs || stat.ctimeMs >= startedMs;
    } catch {
      return false; // not installed (esbuild elsewhere): recorded as missing, checked as missing
    }
  });
  if (!changed) writeAtomic(manifestFile, JSON.stringify({ format: FORMAT, entry: path.basename(entryPath), inputs }));
  prune(dir, written);
  return pathToFileURL(entryPath);
}

// `import.meta` as code: not right after a quote, a word character or a dot (a string such as
// the regular expressions here, a property). In a bundle, comments are gone.
const IMPORT_META = /(?<![\w.'"`])import\.meta\b/;
const IMPORT_META_URL = /(?<![\w.'"`])import\.meta\.url\b/g;

/** Replaces `import.meta.url` in this project's sources by the source file's own URL. */
const importMetaUrlOfSource = {
  name: 'import-meta-url-of-source',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const text = await fs.promises.readFile(args.path, 'utf8');
      IMPORT_META_URL.lastIndex = 0;
      if (!IMPORT_META_URL.test(text)) return undefined;
      const loader = /\.[cm]?tsx?$/.test(args.path) ? 'ts' : 'js';
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: text.replace(IMPORT_META_URL, () => url), loader };
    });
  },
};

function writeAtomic(file, contents) {
  const temporary = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temporary, contents); // a cache: not fsynced, remade if lost
  fs.renameSync(temporary, file);
}

/** Removes files of earlier bundles (and temp files) untouched for STALE_AFTER_MS. */
function prune(dir, keep) {
  const now = Date.now();
  for (const entry of fs.readdirSync(dir)) {
    if (keep.has(entry)) continue;
    const file = path.join(dir, entry);
    try {
      if (now - fs.statSync(file).mtimeMs > STALE_AFTER_MS) fs.rmSync(file, { force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
}

function esbuildPackageJson() {
  return path.join(ROOT, 'node_modules', 'esbuild', 'package.json');
}

/** esbuild, loaded only to make a bundle (its build service runs as a child process); null when not installed. */
async function loadEsbuild() {
  try {
    const esbuild = await import('esbuild');
    return esbuild.default ?? esbuild; // a CommonJS package: its exports are the default export
  } catch {
    return null;
  }
}
