import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.js';

export type KinesisCapacity = { mode: 'on-demand' } | { mode: 'provisioned'; shardCount: number };

export interface ChangeStreamProps {
  /** Customer-managed key for server-side encryption. */
  readonly encryptionKey: kms.IKey;
  /**
   * On-demand scales without shard planning; provisioned is cheaper at a steady, known rate.
   * Per shard: 1 MB/s and 1,000 records/s of writes (small CDC rows hit the record limit first).
   * @default { mode: 'on-demand' }
   */
  readonly capacity?: KinesisCapacity;
  /**
   * How long records stay readable. Long enough to redrive the processor's DLQ entries (which
   * hold sequence-number ranges, not data) from the stream itself after a weekend outage.
   * @default Duration.days(7)
   */
  readonly retention?: Duration;
  /** @default 'totesys-cdc-changes' */
  readonly streamName?: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The change stream: every change event, partition key `<table>:<pk>` (per-row order on one shard). */
export class ChangeStream extends Construct {
  readonly stream: kinesis.IStream;
  readonly encryptionKey: kms.IKey;
  readonly retention: Duration;

  constructor(scope: Construct, id: string, props: ChangeStreamProps) {
    super(scope, id);
    const capacity = props.capacity ?? { mode: 'on-demand' };
    if (capacity.mode === 'provisioned' && (!Number.isInteger(capacity.shardCount) || capacity.shardCount < 1)) {
      throw new Error(`ChangeStream: shardCount must be a positive integer, got ${capacity.shardCount}`);
    }
    this.retention = props.retention ?? Duration.days(7);
    this.encryptionKey = props.encryptionKey;
    this.stream = new kinesis.Stream(this, 'Stream', {
      streamName: props.streamName ?? 'totesys-cdc-changes',
      streamMode: capacity.mode === 'on-demand' ? kinesis.StreamMode.ON_DEMAND : kinesis.StreamMode.PROVISIONED,
      shardCount: capacity.mode === 'provisioned' ? capacity.shardCount : undefined,
      retentionPeriod: this.retention,
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.stream,
      'AwsSolutions-KDS3',
      'A customer-managed key is deliberate: its policy and grants limit decryption to the capture, processor and archive roles, which the aws/kinesis key cannot.',
    );
  }
}
