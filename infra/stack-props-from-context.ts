import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { KinesisCapacity } from './constructs/change-stream.js';
import type { DatabaseProps, TotesysCdcStackProps } from './totesys-cdc-stack.js';

/** The `-c key=value` context keys `cdk deploy` accepts (see the README's Deploy section). */
export const CONTEXT_KEYS = [
  'sourceSecretArn',
  'sourceHost',
  'sourcePort',
  'sourceDatabase',
  'sourceSecretKeyArn',
  'sourceSecurityGroupId',
  'warehouseSecretArn',
  'warehouseHost',
  'warehousePort',
  'warehouseDatabase',
  'warehouseSecretKeyArn',
  'warehouseSecurityGroupId',
  'vpcId',
  'vpcEndpoints',
  'alertEmail',
  'kinesisMode',
  'kinesisShards',
  'streamRetentionHours',
  'processorBatchSize',
  'processorBatchingWindowSeconds',
  'processorParallelizationFactor',
  'loaderDrainWindowSeconds',
  'slotName',
  'publicationName',
  'sslMode',
  'sourceSslMode',
  'captureArchitecture',
  'archiveRetentionDays',
  'archiveTransitionDays',
  'archiveStorageClass',
  'archiveAdminRoleArn',
  'dataRemovalPolicy',
  'streamRemovalPolicy',
  'logRetentionDays',
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
  const secretArn_ = (key: ContextKey, value: string): string => {
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

  const oneOf = <T extends string>(key: ContextKey, allowed: readonly T[]): T | undefined => {
    const value = text(key);
    if (value !== undefined && !allowed.includes(value as T)) throw new StackContextError(`context ${key} must be ${allowed.join(' | ')}, got ${value}`);
    return value as T | undefined;
  };
  // sourceSslMode: the earlier name of sslMode (it now applies to both databases).
  const sslMode = oneOf('sslMode', SSL_MODES) ?? oneOf('sourceSslMode', SSL_MODES);
  const alertEmail = text('alertEmail');
  if (alertEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alertEmail)) throw new StackContextError(`context alertEmail is not an e-mail address: ${alertEmail}`);
  const vpcId = text('vpcId');
  if (vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) throw new StackContextError(`context vpcId must look like vpc-0123456789abcdef0, got ${vpcId}`);
  const identifier = (key: ContextKey) => {
    const value = text(key);
    if (value !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(value)) throw new StackContextError(`context ${key} must be a lower-case Postgres identifier, got ${value}`);
    return value;
  };
  const matching = (key: ContextKey, pattern: RegExp, shape: string) => {
    const value = text(key);
    if (value !== undefined && !pattern.test(value)) throw new StackContextError(`context ${key} must be ${shape}, got ${value}`);
    return value;
  };
  const database = (prefix: 'source' | 'warehouse'): DatabaseProps => {
    const k = (suffix: string) => `${prefix}${suffix}` as ContextKey;
    const secretArn = secretArn_(k('SecretArn'), required(k('SecretArn'), `arn:aws:secretsmanager:<region>:<account>:secret:<${prefix}-secret>`));
    const host = matching(k('Host'), /^[A-Za-z0-9.-]{1,253}$/, 'a host name');
    const database = text(k('Database'));
    const port = int(k('Port'), 1, 65535);
    if ((host === undefined) !== (database === undefined)) {
      throw new StackContextError(`context ${k('Host')} and ${k('Database')} go together (an RDS-managed secret holds only username and password): pass both or neither`);
    }
    if (port !== undefined && host === undefined) throw new StackContextError(`context ${k('Port')} needs ${k('Host')} and ${k('Database')}`);
    return {
      secretArn,
      endpoint: host && database ? { host, port, database } : undefined,
      secretKeyArn: matching(k('SecretKeyArn'), /^arn:[^:]+:kms:[^:]+:\d{12}:key\/[0-9a-f-]+$/, 'a KMS key ARN'),
      securityGroupId: matching(k('SecurityGroupId'), /^sg-[0-9a-f]{8,17}$/, 'a security group id (sg-0123456789abcdef0)'),
    };
  };
  const retentionHours = int('streamRetentionHours', 24, 8760);
  const windowSeconds = int('processorBatchingWindowSeconds', 0, 300);
  const drainSeconds = int('loaderDrainWindowSeconds', 0, 50);
  const archiveDays = int('archiveRetentionDays', 1, 36500);
  const transitionDays = int('archiveTransitionDays', 0, 36500);
  const storageClass = oneOf('archiveStorageClass', ['STANDARD_IA', 'GLACIER_IR', 'INTELLIGENT_TIERING'] as const);
  const architecture = oneOf('captureArchitecture', ['x86_64', 'arm64'] as const);
  const logRetention = () => {
    const days = int('logRetentionDays', 1, 3653);
    if (days === undefined) return undefined;
    if (!Object.values(logs.RetentionDays).includes(days)) {
      throw new StackContextError(`context logRetentionDays must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), got ${days}`);
    }
    return days as logs.RetentionDays;
  };
  const removal = (key: ContextKey) => {
    const value = oneOf(key, ['retain', 'destroy'] as const);
    return value === undefined ? undefined : value === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
  };

  return {
    source: database('source'),
    warehouse: database('warehouse'),
    vpcId,
    vpcEndpoints: oneOf('vpcEndpoints', ['none', 'gateway', 'all'] as const),
    alertEmail,
    kinesisCapacity,
    streamRetention: retentionHours === undefined ? undefined : Duration.hours(retentionHours),
    processorBatchSize: int('processorBatchSize', 1, 10_000),
    processorBatchingWindow: windowSeconds === undefined ? undefined : Duration.seconds(windowSeconds),
    processorParallelizationFactor: int('processorParallelizationFactor', 1, 10),
    loaderDrainWindow: drainSeconds === undefined ? undefined : Duration.seconds(drainSeconds),
    slotName: identifier('slotName'),
    publicationName: identifier('publicationName'),
    sslMode,
    captureArchitecture: architecture === undefined ? undefined : architecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
    archiveRetention: archiveDays === undefined ? undefined : Duration.days(archiveDays),
    archiveTransition:
      transitionDays === 0
        ? 'none'
        : transitionDays === undefined && storageClass === undefined
          ? undefined
          : { after: Duration.days(transitionDays ?? 30), storageClass: STORAGE_CLASSES[storageClass ?? 'STANDARD_IA'] },
    archiveAdminRoleArn: matching('archiveAdminRoleArn', /^arn:[^:]+:iam::\d{12}:role\/.+$/, 'an IAM role ARN'),
    dataRemovalPolicy: removal('dataRemovalPolicy'),
    streamRemovalPolicy: removal('streamRemovalPolicy'),
    logRetention: logRetention(),
  };
}

const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const;
const STORAGE_CLASSES = {
  STANDARD_IA: s3.StorageClass.INFREQUENT_ACCESS,
  GLACIER_IR: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
  INTELLIGENT_TIERING: s3.StorageClass.INTELLIGENT_TIERING,
} as const;
