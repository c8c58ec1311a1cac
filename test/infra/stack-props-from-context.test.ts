import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { secretPolicyArn } from '../../infra/constructs/secret-reference.js';
import { StackContextError, stackPropsFromContext } from '../../infra/stack-props-from-context.js';

const SOURCE = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:totesys-source-AbCdEf';
const WAREHOUSE = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:totesys-warehouse';
const contextOf = (values: Record<string, unknown>) => (key: string) => values[key];

describe('stackPropsFromContext', () => {
  it('needs only the two secret ARNs and defaults the rest', () => {
    const props = stackPropsFromContext(contextOf({ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE }));
    expect(props).toEqual(expect.objectContaining({ source: { secretArn: SOURCE }, warehouse: { secretArn: WAREHOUSE }, kinesisCapacity: { mode: 'on-demand' } }));
    expect(props.vpcId).toBeUndefined();
    expect(props.archiveTransition).toBeUndefined();
    expect(props.captureArchitecture).toBeUndefined();
    expect(props.streamRetention).toBeUndefined();
  });

  it('parses every optional setting from -c strings', () => {
    const props = stackPropsFromContext(
      contextOf({
        sourceSecretArn: SOURCE,
        warehouseSecretArn: WAREHOUSE,
        vpcId: 'vpc-0123456789abcdef0',
        alertEmail: 'ops@example.com',
        kinesisMode: 'provisioned',
        kinesisShards: '4',
        streamRetentionHours: '48',
        processorBatchSize: '1000',
        processorBatchingWindowSeconds: '10',
        processorParallelizationFactor: '2',
        slotName: 'cdc_slot',
        publicationName: 'cdc_pub',
        sourceSslMode: 'require',
        archiveRetentionDays: '30',
        sourceHost: 'totesys.abc.eu-west-2.rds.amazonaws.com',
        sourcePort: '5433',
        sourceDatabase: 'totesys',
        sourceSecretKeyArn: 'arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        sourceSecurityGroupId: 'sg-0123456789abcdef0',
        warehouseSecurityGroupId: 'sg-0fedcba9876543210',
        vpcEndpoints: 'all',
        captureArchitecture: 'arm64',
        loaderDrainWindowSeconds: '30',
        archiveTransitionDays: '90',
        archiveStorageClass: 'GLACIER_IR',
        archiveAdminRoleArn: 'arn:aws:iam::123456789012:role/ArchiveAdmin',
        dataRemovalPolicy: 'destroy',
        streamRemovalPolicy: 'retain',
        logRetentionDays: '90',
      }),
    );
    expect(props.source).toEqual({
      secretArn: SOURCE,
      endpoint: { host: 'totesys.abc.eu-west-2.rds.amazonaws.com', port: 5433, database: 'totesys' },
      secretKeyArn: 'arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      securityGroupId: 'sg-0123456789abcdef0',
    });
    expect(props.warehouse).toEqual({ secretArn: WAREHOUSE, securityGroupId: 'sg-0fedcba9876543210' });
    expect(props.vpcEndpoints).toBe('all');
    expect(props.captureArchitecture).toBe(ecs.CpuArchitecture.ARM64);
    expect(props.loaderDrainWindow?.toSeconds()).toBe(30);
    expect(props.archiveTransition).toEqual({ after: Duration.days(90), storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL });
    expect(props.archiveAdminRoleArn).toBe('arn:aws:iam::123456789012:role/ArchiveAdmin');
    expect(props.dataRemovalPolicy).toBe(RemovalPolicy.DESTROY);
    expect(props.streamRemovalPolicy).toBe(RemovalPolicy.RETAIN);
    expect(props.logRetention).toBe(90);
    expect(stackPropsFromContext(contextOf({ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, archiveTransitionDays: '0' })).archiveTransition).toBe('none');
    expect(props.kinesisCapacity).toEqual({ mode: 'provisioned', shardCount: 4 });
    expect(props.streamRetention?.toHours()).toBe(48);
    expect(props.processorBatchSize).toBe(1000);
    expect(props.processorBatchingWindow?.toSeconds()).toBe(Duration.seconds(10).toSeconds());
    expect(props.processorParallelizationFactor).toBe(2);
    expect(props.archiveRetention?.toDays()).toBe(30);
    // sourceSslMode is the earlier name of sslMode (both databases).
    expect(props).toEqual(expect.objectContaining({ vpcId: 'vpc-0123456789abcdef0', alertEmail: 'ops@example.com', slotName: 'cdc_slot', publicationName: 'cdc_pub', sslMode: 'require' }));
  });

  it.each([
    [{ warehouseSecretArn: WAREHOUSE }, /missing context sourceSecretArn: pass -c sourceSecretArn=/],
    [{ sourceSecretArn: SOURCE }, /missing context warehouseSecretArn/],
    [{ sourceSecretArn: 'my-secret', warehouseSecretArn: WAREHOUSE }, /sourceSecretArn must be a Secrets Manager secret ARN/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, kinesisMode: 'fast' }, /kinesisMode must be on-demand or provisioned/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, processorBatchSize: '0' }, /processorBatchSize must be an integer from 1 to 10000/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, processorParallelizationFactor: '11' }, /processorParallelizationFactor must be an integer from 1 to 10/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, streamRetentionHours: '12' }, /streamRetentionHours must be an integer from 24/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, slotName: 'Bad-Name' }, /slotName must be a lower-case Postgres identifier/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, alertEmail: 'nobody' }, /alertEmail is not an e-mail address/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, vpcId: 'default' }, /vpcId must look like vpc-/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, sourceSslMode: 'prefer' }, /sourceSslMode must be/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, sourceHost: 'db.internal' }, /sourceHost and sourceDatabase go together/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, warehousePort: '5433' }, /warehousePort needs warehouseHost/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, sourceSecurityGroupId: 'default' }, /sourceSecurityGroupId must be a security group id/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, warehouseSecretKeyArn: 'alias/x' }, /warehouseSecretKeyArn must be a KMS key ARN/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, captureArchitecture: 'amd64' }, /captureArchitecture must be x86_64 \| arm64/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, vpcEndpoints: 'some' }, /vpcEndpoints must be none \| gateway \| all/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, loaderDrainWindowSeconds: '60' }, /loaderDrainWindowSeconds must be an integer from 0 to 50/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, dataRemovalPolicy: 'snapshot' }, /dataRemovalPolicy must be retain \| destroy/],
    [{ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, logRetentionDays: '31' }, /logRetentionDays must be a CloudWatch Logs retention/],
  ])('rejects %j with a message naming the key', (values, message) => {
    expect(() => stackPropsFromContext(contextOf(values))).toThrow(StackContextError);
    expect(() => stackPropsFromContext(contextOf(values))).toThrow(message);
  });
});

describe('secretPolicyArn', () => {
  it('keeps a complete ARN and matches exactly the 6-character suffix of a partial one (never *)', () => {
    expect(secretPolicyArn(SOURCE)).toBe(SOURCE);
    expect(secretPolicyArn(WAREHOUSE)).toBe(`${WAREHOUSE}-??????`);
  });
});
