import { Duration } from 'aws-cdk-lib';
import type { KinesisCapacity } from './constructs/change-stream.js';
import type { TotesysCdcStackProps } from './totesys-cdc-stack.js';

/** The `-c key=value` context keys `cdk deploy` accepts (see the README's Deploy section). */
export const CONTEXT_KEYS = [
  'sourceSecretArn',
  'warehouseSecretArn',
  'warehouseSecretKeyArn',
  'vpcId',
  'alertEmail',
  'kinesisMode',
  'kinesisShards',
  'streamRetentionHours',
  'processorBatchSize',
  'processorBatchingWindowSeconds',
  'processorParallelizationFactor',
  'slotName',
  'publicationName',
  'sourceSslMode',
  'archiveRetentionDays',
] as const;
type ContextKey = (typeof CONTEXT_KEYS)[number];

export class StackContextError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'StackContextError';
  }
}

/**
 * Turns CDK context (strings from `-c key=value` or cdk.json) into validated stack props. A missing
 * or malformed value fails synthesis with a message naming the key and what to pass.
 */
export function stackPropsFromContext(get: (key: ContextKey) => unknown): Omit<TotesysCdcStackProps, 'env'> {
  const text = (key: ContextKey): string | undefined => {
    const value = get(key);
    if (value === undefined || value === null || value === '') return undefined;
    return String(value);
  };
  const required = (key: ContextKey, hint: string): string => {
    const value = text(key);
    if (!value) throw new StackContextError(`missing context ${key}: pass -c ${key}=${hint}`);
    return value;
  };
  const int = (key: ContextKey, min: number, max: number): number | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new StackContextError(`context ${key} must be an integer from ${min} to ${max}, got ${value}`);
    return n;
  };
  const secretArn = (key: ContextKey, value: string | undefined): string | undefined => {
    if (value !== undefined && !/^arn:[^:]+:secretsmanager:[^:]+:\d{12}:secret:.+$/.test(value)) {
      throw new StackContextError(`context ${key} must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>), got ${value}`);
    }
    return value;
  };

  const mode = text('kinesisMode') ?? 'on-demand';
  let kinesisCapacity: KinesisCapacity;
  if (mode === 'on-demand') kinesisCapacity = { mode };
  else if (mode === 'provisioned') kinesisCapacity = { mode, shardCount: int('kinesisShards', 1, 500) ?? 1 };
  else throw new StackContextError(`context kinesisMode must be on-demand or provisioned, got ${mode}`);

  const sslMode = text('sourceSslMode');
  if (sslMode !== undefined && !['disable', 'require', 'verify-ca', 'verify-full', 'no-verify'].includes(sslMode)) {
    throw new StackContextError(`context sourceSslMode must be disable | require | verify-ca | verify-full | no-verify, got ${sslMode}`);
  }
  const alertEmail = text('alertEmail');
  if (alertEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alertEmail)) throw new StackContextError(`context alertEmail is not an e-mail address: ${alertEmail}`);
  const vpcId = text('vpcId');
  if (vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) throw new StackContextError(`context vpcId must look like vpc-0123456789abcdef0, got ${vpcId}`);
  const identifier = (key: ContextKey) => {
    const value = text(key);
    if (value !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(value)) throw new StackContextError(`context ${key} must be a lower-case Postgres identifier, got ${value}`);
    return value;
  };
  const retentionHours = int('streamRetentionHours', 24, 8760);
  const windowSeconds = int('processorBatchingWindowSeconds', 0, 300);
  const archiveDays = int('archiveRetentionDays', 1, 36500);
  const keyArn = text('warehouseSecretKeyArn');
  if (keyArn !== undefined && !/^arn:[^:]+:kms:[^:]+:\d{12}:key\/[0-9a-f-]+$/.test(keyArn)) throw new StackContextError(`context warehouseSecretKeyArn must be a KMS key ARN, got ${keyArn}`);

  return {
    sourceSecretArn: secretArn('sourceSecretArn', required('sourceSecretArn', 'arn:aws:secretsmanager:<region>:<account>:secret:<totesys-secret>'))!,
    warehouseSecretArn: secretArn('warehouseSecretArn', required('warehouseSecretArn', 'arn:aws:secretsmanager:<region>:<account>:secret:<warehouse-secret>'))!,
    warehouseSecretKeyArn: keyArn,
    vpcId,
    alertEmail,
    kinesisCapacity,
    streamRetention: retentionHours === undefined ? undefined : Duration.hours(retentionHours),
    processorBatchSize: int('processorBatchSize', 1, 10_000),
    processorBatchingWindow: windowSeconds === undefined ? undefined : Duration.seconds(windowSeconds),
    processorParallelizationFactor: int('processorParallelizationFactor', 1, 10),
    slotName: identifier('slotName'),
    publicationName: identifier('publicationName'),
    sourceSslMode: sslMode as TotesysCdcStackProps['sourceSslMode'],
    archiveRetention: archiveDays === undefined ? undefined : Duration.days(archiveDays),
  };
}
