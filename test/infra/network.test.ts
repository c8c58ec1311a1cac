import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../../infra/constructs/network.js';

const env = { account: '123456789012', region: 'eu-west-2' };

// This file checks construct wiring only; the CloudFormation schema validation that `synth` runs by
// default (and that costs ~15 s to load) is exercised by totesys-cdc-stack.test.ts.
let previousValidation: string | undefined;
// Every App synthesizes into a directory of this test's own, removed afterwards.
let outRoot: string;
const newApp = () => new App({ outdir: fs.mkdtempSync(path.join(outRoot, 'app-')) });
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

describe('Network', () => {
  // The default (new VPC) is asserted on the full stack in totesys-cdc-stack.test.ts.
  it('looks up an existing VPC instead of creating one', () => {
    const app = newApp();
    const stack = new Stack(app, 'Net', { env });
    const network = new Network(stack, 'Network', { existingVpcId: 'vpc-0123456789abcdef0' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    // Without cached lookup context CDK records the lookup for `cdk synth` to resolve against the account.
    const missing = app.synth().manifest.missing ?? [];
    expect(missing.map((m) => m.provider)).toContain('vpc-provider');
    expect(JSON.stringify(missing)).toContain('vpc-0123456789abcdef0');
    expect(network.vpc).toBeDefined();
  });
});
