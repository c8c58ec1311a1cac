import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Config is read once (platform/config.ts): no production module reads a setting from process.env
 * itself. The files below may touch process.env for another reason, each named; a new one fails here.
 */
const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);
const ALLOWED: Record<string, string> = {
  'platform/config.ts': 'the one place settings are read',
  'cli/context.ts': 'hands process.env to loadConfig (a parameter default)',
  'stream-processors/lambda/lambda-deps.ts': 'hands process.env to loadConfig (a parameter default)',
  'loader/lambda/schedule-handler.ts': 'hands process.env to loadConfig (tests inject their own)',
  'runtime/capture-child.ts': "passes the parent's environment on to the capture child",
  'runtime/postmaster-process.ts': 'passes PATH and locale on to initdb and the postmaster',
  'dashboard/open-browser.ts': "the desktop's BROWSER, DISPLAY and PATH, not settings",
  'infra/app.ts': "the CDK CLI's CDK_DEFAULT_ACCOUNT/REGION",
  'infra/constructs/capture.ts': 'the container health check (a script string run inside the task)',
};
// Not the product: tests, benchmarks, the soak harness and repository scripts.
const SKIP = new Set(['node_modules', 'test', 'bench', 'soak', 'scripts', 'cdk.out', '.git']);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name) || entry.name.startsWith('.')) return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [path.relative(ROOT, full)] : [];
  });
}

describe('configuration is read once', () => {
  it('no production module outside the allowed ones mentions process.env', () => {
    const readers = sources(ROOT).filter((file) => /process\.env\b/.test(fs.readFileSync(path.join(ROOT, file), 'utf8')));
    expect(readers.filter((file) => !(file in ALLOWED))).toEqual([]);
    // The list stays honest: every allowed file still needs it.
    expect(Object.keys(ALLOWED).filter((file) => !readers.includes(file))).toEqual([]);
  });
});
