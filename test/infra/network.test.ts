import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { Network } from '../../infra/constructs/network.js';
import { useUnvalidatedApps } from '../support/cdk-test-apps.js';

const env = { account: '123456789012', region: 'eu-west-2' };

// Construct wiring only; the CloudFormation schema validation runs in totesys-cdc-stack.test.ts.
const newApp = useUnvalidatedApps();

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
