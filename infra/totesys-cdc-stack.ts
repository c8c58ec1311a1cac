import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { Archive } from './constructs/archive.js';
import { Buckets } from './constructs/buckets.js';
import { Capture } from './constructs/capture.js';
import { ChangeStream, type KinesisCapacity } from './constructs/change-stream.js';
import { Loader } from './constructs/loader.js';
import { Network } from './constructs/network.js';
import { Observability } from './constructs/observability.js';
import { Processor } from './constructs/processor.js';
import { importSecret } from './constructs/secret-reference.js';

export interface TotesysCdcStackProps extends StackProps {
  /** Secrets Manager ARN of the totesys source (RDS JSON format: host, port, dbname, username, password). */
  readonly sourceSecretArn: string;
  /** Secrets Manager ARN of the warehouse (same JSON format). */
  readonly warehouseSecretArn: string;
  /** Customer-managed KMS key of the warehouse secret, if any. @default none (AWS managed key) */
  readonly warehouseSecretKeyArn?: string;
  /** Existing VPC to run in (must reach both databases). @default a new VPC, 2 AZs, 1 NAT gateway */
  readonly vpcId?: string;
  /** E-mail for alarm notifications. @default no subscription (subscribe to the topic yourself) */
  readonly alertEmail?: string;
  /** @default { mode: 'on-demand' } */
  readonly kinesisCapacity?: KinesisCapacity;
  /** @default Duration.days(7) */
  readonly streamRetention?: Duration;
  /** Processor records per batch. @default 500 */
  readonly processorBatchSize?: number;
  /** Processor batching window. @default Duration.seconds(5) */
  readonly processorBatchingWindow?: Duration;
  /** @default 1 */
  readonly processorParallelizationFactor?: number;
  /** @default 'totesys_cdc' */
  readonly slotName?: string;
  /** @default 'totesys_cdc' */
  readonly publicationName?: string;
  /** @default 'verify-full' */
  readonly sourceSslMode?: 'disable' | 'require' | 'verify-ca' | 'verify-full' | 'no-verify';
  /** Object Lock governance retention of the raw archive. @default Duration.days(365) */
  readonly archiveRetention?: Duration;
}

/** The whole pipeline in AWS: one construct per stage, wired by interfaces. */
export class TotesysCdcStack extends Stack {
  readonly network: Network;
  readonly changeStream: ChangeStream;
  readonly buckets: Buckets;
  readonly archive: Archive;
  readonly capture: Capture;
  readonly processor: Processor;
  readonly loader: Loader;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: TotesysCdcStackProps) {
    super(scope, id, props);
    // Server access logs are delivered under a bucket policy, not the legacy LogDeliveryWrite ACL
    // (which needs ACLs re-enabled on the log bucket). Set here so the stack never depends on cdk.json.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const sourceSecret = importSecret(this, 'SourceSecret', props.sourceSecretArn);
    const warehouseSecret = importSecret(this, 'WarehouseSecret', props.warehouseSecretArn);

    const dataKey = new kms.Key(this, 'DataKey', {
      enableKeyRotation: true,
      description: 'totesys-cdc change stream and buckets',
      alias: `alias/${id.toLowerCase()}-data`,
    });

    this.network = new Network(this, 'Network', { existingVpcId: props.vpcId });
    this.changeStream = new ChangeStream(this, 'ChangeStream', {
      encryptionKey: dataKey,
      capacity: props.kinesisCapacity,
      retention: props.streamRetention,
    });
    this.buckets = new Buckets(this, 'Buckets', { encryptionKey: dataKey, ingestionRetention: props.archiveRetention });
    this.archive = new Archive(this, 'Archive', {
      stream: this.changeStream.stream,
      streamKey: dataKey,
      ingestionBucket: this.buckets.ingestion,
      bucketKey: dataKey,
    });
    this.capture = new Capture(this, 'Capture', {
      vpc: this.network.vpc,
      stream: this.changeStream.stream,
      streamKey: dataKey,
      sourceSecret,
      slotName: props.slotName,
      publicationName: props.publicationName,
      sourceSslMode: props.sourceSslMode,
    });
    this.processor = new Processor(this, 'Processor', {
      stream: this.changeStream.stream,
      processedBucket: this.buckets.processed,
      processedBucketKey: dataKey,
      batchSize: props.processorBatchSize,
      maxBatchingWindow: props.processorBatchingWindow,
      parallelizationFactor: props.processorParallelizationFactor,
      // Never drop records the stream still holds.
      maxRecordAge: Duration.seconds(Math.min(this.changeStream.retention.toSeconds(), Duration.days(7).toSeconds())),
    });
    this.loader = new Loader(this, 'Loader', {
      vpc: this.network.vpc,
      processedBucket: this.buckets.processed,
      processedBucketKey: dataKey,
      warehouseSecret,
      warehouseSecretKeyArn: props.warehouseSecretKeyArn,
    });
    this.observability = new Observability(this, 'Observability', {
      stream: this.changeStream.stream,
      processorFunction: this.processor.function,
      processorDeadLetterQueue: this.processor.deadLetterQueue,
      loaderFunction: this.loader.function,
      deliveryStreamName: this.archive.deliveryStreamName,
      captureClusterName: this.capture.cluster.clusterName,
      captureServiceName: this.capture.service.serviceName,
      slotName: props.slotName,
      alertEmail: props.alertEmail,
    });

    new CfnOutput(this, 'KinesisStreamName', { value: this.changeStream.stream.streamName });
    new CfnOutput(this, 'IngestionBucketName', { value: this.buckets.ingestion.bucketName });
    new CfnOutput(this, 'ProcessedBucketName', { value: this.buckets.processed.bucketName });
    new CfnOutput(this, 'StateTableName', { value: this.processor.stateTable.tableName });
    new CfnOutput(this, 'ProcessorDeadLetterQueueUrl', { value: this.processor.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'CaptureClusterName', { value: this.capture.cluster.clusterName });
    new CfnOutput(this, 'CaptureServiceName', { value: this.capture.service.serviceName });
    new CfnOutput(this, 'CaptureSecurityGroupId', {
      value: this.capture.securityGroup.securityGroupId,
      description: 'Allow inbound 5432 from this group on the totesys source database',
    });
    new CfnOutput(this, 'LoaderSecurityGroupId', {
      value: this.loader.securityGroup.securityGroupId,
      description: 'Allow inbound 5432 from this group on the warehouse database',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
  }
}
