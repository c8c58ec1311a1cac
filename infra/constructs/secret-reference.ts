import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

const COMPLETE_SECRET_ARN = /^arn:[^:]+:secretsmanager:[^:]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;
const SECRET_ARN = /^arn:[^:]+:secretsmanager:[^:]+:\d{12}:secret:.+$/;

/**
 * Imports an existing secret by ARN (values never pass through the CDK app). A complete ARN (with
 * the 6-character suffix Secrets Manager appends) gives exact IAM resources; a partial one is
 * matched with `-??????`.
 */
export function importSecret(scope: Construct, id: string, secretArn: string): secretsmanager.ISecret {
  if (!SECRET_ARN.test(secretArn)) throw new Error(`${id}: not a Secrets Manager secret ARN: ${secretArn}`);
  return COMPLETE_SECRET_ARN.test(secretArn)
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, secretArn)
    : secretsmanager.Secret.fromSecretPartialArn(scope, id, secretArn);
}

/** The IAM resource for a secret ARN: exact when complete, `-??????` (never `*`) when partial. */
export function secretPolicyArn(secretArn: string): string {
  return COMPLETE_SECRET_ARN.test(secretArn) ? secretArn : `${secretArn}-??????`;
}
