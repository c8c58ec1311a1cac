import { App } from 'aws-cdk-lib';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * For construct-wiring tests: returns a factory of CDK Apps, each synthesizing into its own
 * directory under one temp dir that is removed afterwards, with the CloudFormation schema
 * validation `synth` runs by default switched off for the file (it costs ~15 s to load; the
 * full-stack test, totesys-cdc-stack.test.ts, runs it). Call at the top level of a test file.
 */
export function useUnvalidatedApps(): () => App {
  let previousValidation: string | undefined;
  let outRoot: string;
  beforeAll(() => {
    outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'totesys-infra-'));
    previousValidation = process.env.CDK_VALIDATION;
    process.env.CDK_VALIDATION = 'false';
  });
  afterAll(() => {
    fs.rmSync(outRoot, { recursive: true, force: true });
    if (previousValidation === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previousValidation;
  });
  return () => new App({ outdir: fs.mkdtempSync(path.join(outRoot, 'app-')) });
}
