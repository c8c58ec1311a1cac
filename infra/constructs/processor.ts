import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENTRY } from '../repo-paths.js';
import { acknowledge } from './acknowledge.js';
import { NodeLambda } from './node-lambda.js';

export interface ProcessorProps {
  readonly stream: kinesis.IStream;
  readonly processedBucket: s3.IBucket;
  readonly processedBucketKey: kms.IKey;
  /** Handler module. @default stream-processors/lambda/kinesis-handler.ts */
  readonly entry?: string;
  /**
   * Records per invocation (1-10,000): an upper bound, reached only under load (a shard's 1,000
   * records/s fill 500 in half a second); it bounds the processor's memory and one batch's retry.
   * @default 500
   */
  readonly batchSize?: number;
  /**
   * How long the event source gathers records before invoking: chosen for latency. Each
   * invocation writes one manifest and one Parquet file per table it touched, so the window sets
   * the file count: at most one batch per shard per window while changes keep arriving (about
   * 86,400 manifests a day per busy shard at 1 s; docs/deploy.md has the figures and when to
   * compact, docs/freshness.md the trade-off against window 0 and the bench's figures). Raise it
   * (up to 300 s) for fewer, larger files at the cost of freshness.
   * @default Duration.seconds(1)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Concurrent batches per shard. 1 keeps strict order per shard; values up to 10 still keep
   * per-partition-key order (Lambda never runs two batches of one key at once), hence per-row order.
   * @default 1
   */
  readonly parallelizationFactor?: number;
  /** Retries of a failing batch (bisected each time) before its range goes to the DLQ. @default 10 */
  readonly retryAttempts?: number;
  /**
   * Records older than this are sent to the DLQ unprocessed (they stay in the archive for replay).
   * @default Duration.days(7): the stream's default retention, so nothing is skipped early.
   */
  readonly maxRecordAge?: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default Duration.minutes(5) */
  readonly timeout?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default 'info' */
  readonly logLevel?: string;
  /** @default RemovalPolicy.RETAIN (the join state survives `cdk destroy`, like the buckets). */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Stream processor: Lambda with a Kinesis event source turning change events into star-schema
 * Parquet + a manifest per batch in the processed bucket. Partial batch failures are reported by
 * sequence number (ReportBatchItemFailures); a batch that keeps failing is bisected, retried a
 * finite number of times, and its shard/sequence range lands in the DLQ for redrive or replay.
 */
export class Processor extends Construct {
  readonly function: lambda.IFunction;
  readonly role: iam.IRole;
  readonly stateTable: dynamodb.ITable;
  readonly deadLetterQueue: sqs.IQueue;

  constructor(scope: Construct, id: string, props: ProcessorProps) {
    super(scope, id);

    const table = new dynamodb.Table(this, 'StateTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stateTable = table;

    const dlq = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(dlq, 'AwsSolutions-SQS3', 'This queue is itself the on-failure destination (DLQ) of the processor event source mapping.');
    this.deadLetterQueue = dlq;

    const lambdaFn = new NodeLambda(this, 'Handler', {
      entry: props.entry ?? ENTRY.processorHandler,
      description: 'totesys-cdc stream processor: change events -> star-schema Parquet',
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(5),
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      environment: {
        TOTESYS_BUCKETS: 's3',
        TOTESYS_PROCESSED_BUCKET: props.processedBucket.bucketName,
        TOTESYS_STATE_STORE: 'dynamodb',
        TOTESYS_DYNAMODB_TABLE: table.tableName,
        TOTESYS_LOG_LEVEL: props.logLevel ?? 'info',
      },
    });
    this.function = lambdaFn.function;
    this.role = lambdaFn.role;

    // Processed bucket: write Parquet, manifests and quarantine objects; read them back (idempotent
    // re-processing checks what a previous attempt wrote). No delete.
    lambdaFn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ListProcessedBucket', actions: ['s3:ListBucket'], resources: [props.processedBucket.bucketArn] }),
    );
    lambdaFn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteProcessedObjects',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [props.processedBucket.arnForObjects('*')],
      }),
    );
    lambdaFn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'UseProcessedBucketKey', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.processedBucketKey.keyArn] }),
    );
    // The join state store reads (strongly consistent GetItem / Query) and writes versioned items
    // (conditional PutItem / UpdateItem); it never scans or deletes.
    lambdaFn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteJoinState',
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
        resources: [table.tableArn],
      }),
    );

    const maxRecordAge = props.maxRecordAge ?? Duration.days(7);
    this.function.addEventSource(
      new sources.KinesisEventSource(props.stream, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? 500,
        maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(1),
        parallelizationFactor: props.parallelizationFactor ?? 1,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: props.retryAttempts ?? 10,
        maxRecordAge,
        onFailure: new sources.SqsDlq(dlq),
      }),
    );
    const bucketResource = props.processedBucket.node.defaultChild as { logicalId?: string } | undefined;
    const bucketId = bucketResource?.logicalId ? props.processedBucket.stack.resolve(bucketResource.logicalId) : 'ProcessedBucket';
    acknowledge(lambdaFn.role, `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`, 'The processor names its Parquet, manifest and quarantine objects per batch; access is limited to objects of this one bucket, without delete.');
  }
}
