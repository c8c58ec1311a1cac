import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPTURE_STATE_DIR, CAPTURE_STATUS_FILE, captureHealthCheckScript } from '../../infra/constructs/capture.js';
import { REPO_ROOT } from '../../infra/repo-paths.js';

/**
 * No Docker engine here: the capture image is checked by reading its Dockerfile and .dockerignore
 * (production-only install, non-root user, entrypoint, graceful stop, no secrets) and by checking
 * that every source file the capture imports is inside the build context.
 */
interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let current = lines[i]!;
    const start = i + 1;
    if (/^\s*(#|$)/.test(current)) continue;
    while (current.trimEnd().endsWith('\\') && i + 1 < lines.length) current = current.trimEnd().slice(0, -1) + ' ' + lines[++i]!.trim();
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(current);
    if (!match) throw new Error(`unparsable Dockerfile line ${start}: ${current}`);
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start });
  }
  return out;
}

/** Splits into build stages; each starts at a FROM. */
function stages(instructions: Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') out.push([]);
    out.at(-1)?.push(ins);
  }
  return out;
}

/** .dockerignore patterns as path matchers (the subset of Go filepath.Match + `**` the file uses). */
function dockerignoreMatcher(text: string): (relativePath: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (patterns.some((p) => p.startsWith('!'))) throw new Error('negated .dockerignore patterns are not supported by this check');
  const regexes = patterns.map((p) => {
    const body = p
      .replace(/^\/+|\/+$/g, '')
      .split('/')
      .map((seg) => (seg === '**' ? '(?:.*)' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
      .join('/')
      .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
    return new RegExp(`^${body}$`);
  });
  return (relativePath) => {
    const parts = relativePath.split('/');
    // A path is excluded when it or any of its parent directories matches.
    return parts.some((_, i) => regexes.some((re) => re.test(parts.slice(0, i + 1).join('/'))));
  };
}

/** Every repository file reachable through relative imports from the given TypeScript files. */
function relativeImportClosure(startFiles: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...startFiles];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = fs.readFileSync(file, 'utf8');
    // Any relative module specifier, also ones held in a variable for a dynamic import().
    for (const m of source.matchAll(/['"](\.{1,2}\/[^'"\s]+\.js)['"]/g)) {
      const target = path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts'));
      if (fs.existsSync(target)) queue.push(target);
    }
  }
  return seen;
}

const dockerfileText = fs.readFileSync(path.join(REPO_ROOT, 'capture', 'Dockerfile'), 'utf8');
const instructions = parseDockerfile(dockerfileText);
const dockerignore = fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8');

describe('capture/Dockerfile', () => {
  it('is multi-stage on node:20-slim', () => {
    const froms = instructions.filter((i) => i.keyword === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from.args, `line ${from.line}`).toMatch(/^node:20-slim(\s+AS\s+\w+)?$/i);
  });

  it('installs production dependencies only, from the lockfile, without lifecycle scripts', () => {
    const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r) && /--omit=dev\b/.test(r) && /--ignore-scripts\b/.test(r))).toBe(true);
    for (const r of runs) {
      expect(r).not.toMatch(/\bnpm (install|i)\b/);
      if (/\bnpm ci\b/.test(r)) expect(r).toMatch(/--omit=dev\b/);
    }
  });

  it('runs the capture entrypoint as the non-root node user with graceful SIGTERM', () => {
    const final = stages(instructions).at(-1)!;
    const users = final.filter((i) => i.keyword === 'USER');
    expect(users.at(-1)?.args).toBe('node');
    // Nothing runs as root after switching user.
    const userIndex = final.indexOf(users.at(-1)!);
    expect(final.slice(userIndex).filter((i) => i.keyword === 'RUN')).toEqual([]);
    expect(final.find((i) => i.keyword === 'STOPSIGNAL')?.args).toBe('SIGTERM');
    const entrypoint = final.find((i) => i.keyword === 'ENTRYPOINT');
    expect(entrypoint).toBeDefined();
    // Exec form: node is PID 1 and receives SIGTERM itself (a shell would swallow it).
    const argv = JSON.parse(entrypoint!.args) as string[];
    expect(argv).toEqual(['node', '--import', 'tsx', 'capture/main.ts']);
    expect(final.some((i) => i.keyword === 'CMD')).toBe(false);
  });

  it('has the same health check as the ECS task definition: a fresh capture status file whose phase is not failed', () => {
    const health = instructions.find((i) => i.keyword === 'HEALTHCHECK');
    const argv = JSON.parse(health!.args.replace(/^.*?CMD\s+/, '')) as string[];
    expect(argv).toEqual(['node', '-e', captureHealthCheckScript(60_000)]);
    expect(instructions.some((i) => i.keyword === 'ENV' && i.args.includes(`TOTESYS_CAPTURE_STATUS_FILE=${CAPTURE_STATUS_FILE}`))).toBe(true);
    expect(instructions.some((i) => i.keyword === 'ENV' && i.args.includes(`TOTESYS_STATE_DIR=${CAPTURE_STATE_DIR}`))).toBe(true);
  });

  it('its health check script passes on a fresh status file and fails on a stale, failed or missing one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capture-health-'));
    try {
      const file = path.join(dir, 'capture-status.json');
      const run = () => spawnSync(process.execPath, ['-e', captureHealthCheckScript(60_000)], { env: { TOTESYS_CAPTURE_STATUS_FILE: file } }).status;
      expect(run()).toBe(1); // missing
      fs.writeFileSync(file, JSON.stringify({ phase: 'streaming' }));
      expect(run()).toBe(0);
      fs.writeFileSync(file, JSON.stringify({ phase: 'failed' }));
      expect(run()).toBe(1);
      fs.writeFileSync(file, JSON.stringify({ phase: 'streaming' }));
      const old = new Date(Date.now() - 120_000);
      fs.utimesSync(file, old, old);
      expect(run()).toBe(1); // stale
      fs.writeFileSync(file, '{"phase": "stream');
      expect(run()).toBe(1); // unreadable
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bakes in no credentials: no build args, no secret-looking ENV, no copied secret files', () => {
    expect(instructions.filter((i) => i.keyword === 'ARG')).toEqual([]);
    for (const env of instructions.filter((i) => i.keyword === 'ENV')) expect(env.args, `line ${env.line}`).not.toMatch(/PASSWORD|SECRET|TOKEN|KEY_ID|ACCESS_KEY|postgres(ql)?:\/\//i);
    expect(dockerfileText).not.toMatch(/AKIA[0-9A-Z]{16}/);
    const isIgnored = dockerignoreMatcher(dockerignore);
    for (const secretish of ['.env', 'capture/.env', 'id.pem', 'server.key', '.totesys-cdc/postgres/PG_VERSION']) expect(isIgnored(secretish), secretish).toBe(true);
  });

  it('keeps the build context small: node_modules, git, local state, cdk output and tests stay out', () => {
    const isIgnored = dockerignoreMatcher(dockerignore);
    for (const p of ['node_modules/pg/package.json', 'loader/node_modules/x', '.git/HEAD', '.totesys-cdc/stream/0.log', 'cdk.out/manifest.json', 'test/infra/x.test.ts', 'infra/app.ts']) {
      expect(isIgnored(p), p).toBe(true);
    }
    for (const p of ['package.json', 'package-lock.json', 'platform/config.ts', 'capture/event-publisher.ts', 'totesys/schema.sql']) expect(isIgnored(p), p).toBe(false);
  });

  it('includes every source file the capture imports in the build context', () => {
    const captureDir = path.join(REPO_ROOT, 'capture');
    const starts = fs
      .readdirSync(captureDir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => path.join(captureDir, f));
    expect(starts.length).toBeGreaterThan(0);
    const isIgnored = dockerignoreMatcher(dockerignore);
    const closure = [...relativeImportClosure(starts)].map((f) => path.relative(REPO_ROOT, f).split(path.sep).join('/'));
    expect(closure).toEqual(expect.arrayContaining(['capture/main.ts', 'platform/config.ts', 'stream/create-change-stream.ts']));
    expect(closure.filter(isIgnored)).toEqual([]);
  });
});
