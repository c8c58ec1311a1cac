import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { secretPolicyArn } from '../../infra/constructs/secret-reference.js';
import { StackContextError, stackPropsFromContext } from '../../infra/stack-props-from-context.js';

const SOURCE = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:totesys-source-AbCdEf';
const WAREHOUSE = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:totesys-warehouse';
const contextOf = (values: Record<string, unknown>) => (key: string) => values[key];

describe('stackPropsFromContext', () => {
  it('needs only the two secret ARNs and defaults the rest', () => {
    const props = stackPropsFromContext(contextOf({ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE }));
    expect(props).toEqual(expect.objectContaining({ sourceSecretArn: SOURCE, warehouseSecretArn: WAREHOUSE, kinesisCapacity: { mode: 'on-demand' } }));
    expect(props.vpcId).toBeUndefined();
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
      }),
    );
    expect(props.kinesisCapacity).toEqual({ mode: 'provisioned', shardCount: 4 });
    expect(props.streamRetention?.toHours()).toBe(48);
    expect(props.processorBatchSize).toBe(1000);
    expect(props.processorBatchingWindow?.toSeconds()).toBe(Duration.seconds(10).toSeconds());
    expect(props.processorParallelizationFactor).toBe(2);
    expect(props.archiveRetention?.toDays()).toBe(30);
    expect(props).toEqual(expect.objectContaining({ vpcId: 'vpc-0123456789abcdef0', alertEmail: 'ops@example.com', slotName: 'cdc_slot', publicationName: 'cdc_pub', sourceSslMode: 'require' }));
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
