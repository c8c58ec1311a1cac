import { describe, expect, it } from 'vitest';
import { actionsOfRole, auditIdentityPolicies } from './iam-policy-audit.js';

const policy = (roles: string[], statements: unknown[]) => ({
  Type: 'AWS::IAM::Policy',
  Properties: { Roles: roles.map((r) => ({ Ref: r })), PolicyDocument: { Statement: statements } },
});

describe('auditIdentityPolicies (the least-privilege check must be able to fail)', () => {
  it('flags *, service:* and partial wildcard actions, and Resource "*" outside the allow-list', () => {
    const template = {
      Resources: {
        P1: policy(['R1'], [
          { Effect: 'Allow', Action: '*', Resource: 'arn:aws:s3:::b' },
          { Effect: 'Allow', Action: ['s3:*'], Resource: 'arn:aws:s3:::b/*' },
          { Effect: 'Allow', Action: ['kms:GenerateDataKey*'], Resource: 'arn:aws:kms:eu-west-2:1:key/k' },
          { Effect: 'Allow', Action: ['kinesis:PutRecords'], Resource: '*' },
          { Effect: 'Deny', Action: '*', Resource: '*' },
        ]),
        R2: { Type: 'AWS::IAM::Role', Properties: { Policies: [{ PolicyName: 'inline', PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }] } }] } },
      },
    };
    expect(auditIdentityPolicies(template).map((f) => `${f.policy}: ${f.problem}`)).toEqual([
      'P1: wildcard action *',
      'P1: wildcard action s3:*',
      'P1: wildcard action kms:GenerateDataKey*',
      'P1: Resource "*" for kinesis:PutRecords',
      'R2/inline: wildcard action sqs:*',
      'R2/inline: Resource "*" for sqs:*',
    ]);
  });

  it('accepts the justified Resource "*" actions and scoped statements', () => {
    const template = {
      Resources: {
        P1: policy(['R1'], [
          { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
          { Effect: 'Allow', Action: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces'], Resource: '*' },
          { Effect: 'Allow', Action: ['kinesis:PutRecords'], Resource: { 'Fn::GetAtt': ['Stream', 'Arn'] } },
        ]),
      },
    };
    expect(auditIdentityPolicies(template)).toEqual([]);
    expect(actionsOfRole(template, 'R1')).toEqual(['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ecr:GetAuthorizationToken', 'kinesis:PutRecords']);
  });
});
