import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedBundle } from '../../platform/module-bundle.mjs';

/** The cached bundles the CLI and the worker threads start from (platform/module-bundle.mjs). */
describe('cachedBundle', () => {
  let dir: string;
  let cacheDir: string;
  let entry: URL;
  let n = 0;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'module-bundle-'));
    cacheDir = path.join(dir, 'cache');
    await fs.writeFile(path.join(dir, 'answer.ts'), 'export const answer: number = 1;\n');
    await fs.writeFile(path.join(dir, 'later.ts'), "export const later = 'loaded on demand';\n");
    await fs.writeFile(
      path.join(dir, 'main.ts'),
      "import { answer } from './answer.js';\nexport const here = import.meta.url;\nexport const value = answer;\nexport const lazy = () => import('./later.js');\n",
    );
    entry = pathToFileURL(path.join(dir, 'main.ts'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  /** Imports a bundle under a fresh URL (the module cache would return the first import again). */
  const load = async (url: URL) => (await import(`${url.href}?${++n}`)) as { here: string; value: number; lazy: () => Promise<{ later: string }> };
  const manifestOf = async (url: URL) => fs.stat(path.join(path.dirname(fileURLToPath(url)), 'manifest.json'));

  it('bundles the module (import.meta.url is still the source file, a dynamic import its own chunk) and reuses the bundle while no source changed', async () => {
    const url = (await cachedBundle(entry, { cacheDir }))!;
    expect(url).not.toBeNull();
    const first = await load(url);
    expect(first.value).toBe(1);
    expect(first.here).toBe(entry.href);
    expect((await first.lazy()).later).toBe('loaded on demand');
    const text = await fs.readFile(fileURLToPath(url), 'utf8');
    expect(text).not.toContain('loaded on demand'); // in its chunk, loaded only when called

    const made = await manifestOf(url);
    const files = await fs.readdir(path.dirname(fileURLToPath(url)));
    expect(await cachedBundle(entry, { cacheDir })).toEqual(url);
    expect((await manifestOf(url)).mtimeMs).toBe(made.mtimeMs); // not made again
    expect(await fs.readdir(path.dirname(fileURLToPath(url)))).toEqual(files);
  });

  it('makes a new bundle when an imported source changes, also when its size and mtime stay the same', async () => {
    const before = (await cachedBundle(entry, { cacheDir }))!;
    const file = path.join(dir, 'answer.ts');
    const { mtime, atime } = await fs.stat(file);
    await fs.writeFile(file, 'export const answer: number = 2;\n');
    await fs.utimes(file, atime, mtime); // an mtime-preserving copy: the ctime still moves
    const after = (await cachedBundle(entry, { cacheDir }))!;
    expect(after).not.toEqual(before);
    expect((await load(after)).value).toBe(2);
  });

  it('two processes making the same bundle at once both get a working one (files named by content, written by rename)', async () => {
    const fresh = path.join(dir, 'cache-concurrent');
    const [a, b] = await Promise.all([cachedBundle(entry, { cacheDir: fresh }), cachedBundle(entry, { cacheDir: fresh })]);
    expect(a).toEqual(b);
    expect((await load(a!)).value).toBe(2);
    expect((await fs.readdir(path.dirname(fileURLToPath(a!)))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a cache that cannot be written gives null (the caller runs the source through tsx), not an error', async () => {
    const file = path.join(dir, 'not-a-directory');
    await fs.writeFile(file, '');
    expect(await cachedBundle(entry, { cacheDir: path.join(file, 'cache') })).toBeNull();
  });

  it('does not bundle a module that reads other import.meta (import.meta.dirname): null, the caller runs the source', async () => {
    await fs.writeFile(path.join(dir, 'dirname.ts'), 'export const dir = import.meta.dirname;\n');
    expect(await cachedBundle(pathToFileURL(path.join(dir, 'dirname.ts')), { cacheDir })).toBeNull();
  });
});
