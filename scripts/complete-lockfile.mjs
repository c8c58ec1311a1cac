#!/usr/bin/env node
// This machine's npm registry serves only some platforms' builds of native packages (rollup,
// esbuild, duckdb bindings ...). npm 11 then leaves the other platforms' optional dependencies out
// of package-lock.json, and `npm ci` refuses the lock file ("Missing: X@ from lock file").
// This adds a version-only entry for each missing optional dependency: `npm ci` accepts the lock,
// and skips those packages on platforms they do not fit. Run after every `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${path ? path + '/' : ''}node_modules/${name}`;
    const top = `node_modules/${name}`;
    if (packages[nested] || packages[top]) continue;
    if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(spec)) continue; // only exact pins can be recorded safely
    packages[top] = { version: spec, dev: entry.dev || undefined, optional: true };
    added++;
  }
}
writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
console.log(`complete-lockfile: added ${added} optional platform entries`);
