import { Aws, CfnOutput, Duration, type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { Archive } from './constructs/archive.js';
import { Buckets } from './constructs/buckets.js';
import { Capture } from './constructs/capture.js';
import { ChangeStream, type KinesisCapacity } from './constructs/change-stream.js';
import type { DatabaseConnection, DatabaseEndpoint } from './constructs/database-connection.js';
import { Loader } from './constructs/loader.js';
import { Network } from './constructs/network.js';
import { Observability } from './constructs/observability.js';
import { OPERATIONS_COMMANDS, Operations } from './constructs/operations.js';
import { Processor } from './constructs/processor.js';
import { QueryCatalog } from './constructs/query-catalog.js';
import { importSecret } from './constructs/secret-reference.js';
import { SlotMonitor } from './constructs/slot-monitor.js';

/** A database as the stack receives it: ARNs and ids, never credentials. */
export interface DatabaseProps {
  /**
   * Secrets Manager ARN. The RDS JSON format (`host`, `port`, `dbname`, `username`, `password`),
   * or an RDS-managed master secret (`username`, `password` only) with `endpoint` set.
   */
  readonly secretArn: string;
  /** @default read from the secret's host, port and dbname keys */
  readonly endpoint?: DatabaseEndpoint;
  /** Customer-managed KMS key ARN of the secret. @default the AWS managed key (no grant needed) */
  readonly secretKeyArn?: string;
  /**
   * The database's security group id: the stack adds ingress on its port from the components that
   * connect, and restricts their egress to it.
   * @default none (allow the output security groups yourself; egress goes to any address on the port)
   */
  readonly securityGroupId?: string;
}

export interface TotesysCdcStackProps extends StackProps {
  /** The totesys source database. */
  readonly source: DatabaseProps;
  /** The warehouse database. */
  readonly warehouse: DatabaseProps;
  /** Existing VPC to run in (must reach both databases). @default a new VPC, 2 AZs, 1 NAT gateway */
  readonly vpcId?: string;
  /** VPC endpoints (see Network). @default 'gateway' for a new VPC, 'none' for an existing one */
  readonly vpcEndpoints?: 'none' | 'gateway' | 'all';
  /** E-mail for alarm notifications. @default no subscription (subscribe to the topic yourself) */
  readonly alertEmail?: string;
  /** @default { mode: 'on-demand' } */
  readonly kinesisCapacity?: KinesisCapacity;
  /** @default Duration.days(7) */
  readonly streamRetention?: Duration;
  /** Processor records per batch. @default 500 */
  readonly processorBatchSize?: number;
  /** Processor batching window (latency vs. file count: docs/deploy.md). @default Duration.seconds(1) */
  readonly processorBatchingWindow?: Duration;
  /** @default 1 */
  readonly processorParallelizationFactor?: number;
  /** How long each loader run keeps loading new manifests. @default 58 s (the 1-minute schedule minus 2 s) */
  readonly loaderDrainWindow?: Duration;
  /** @default 'totesys_cdc' */
  readonly slotName?: string;
  /** @default 'totesys_cdc' */
  readonly publicationName?: string;
  /** TLS mode of both database connections. @default 'verify-full' */
  readonly sslMode?: 'disable' | 'require' | 'verify-ca' | 'verify-full' | 'no-verify';
  /** CPU architecture of the capture and operations tasks (and of their image). @default ecs.CpuArchitecture.X86_64 */
  readonly captureArchitecture?: ecs.CpuArchitecture;
  /** Object Lock governance retention of the raw archive. @default Duration.days(365) */
  readonly archiveRetention?: Duration;
  /** Colder storage for the archive after an age, or 'none'. @default 30 days to S3 Standard-IA */
  readonly archiveTransition?: { after: Duration; storageClass: s3.StorageClass } | 'none';
  /** The only principal that may delete archived objects. @default none: nobody */
  readonly archiveAdminRoleArn?: string;
  /**
   * What `cdk destroy` does with the data: the buckets and the processor's join state table.
   * @default RemovalPolicy.RETAIN
   */
  readonly dataRemovalPolicy?: RemovalPolicy;
  /** Retention of every log group the stack creates (capture, Lambdas, Firehose errors, operations tasks). @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** What `cdk destroy` does with the Kinesis stream (a 7-day buffer; the archive is the record). @default RemovalPolicy.DESTROY */
  readonly streamRemovalPolicy?: RemovalPolicy;
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
  readonly slotMonitor: SlotMonitor;
  readonly operations: Operations;
  readonly queryCatalog: QueryCatalog;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: TotesysCdcStackProps) {
    super(scope, id, props);
    // Server access logs are delivered under a bucket policy, not the legacy LogDeliveryWrite ACL
    // (which needs ACLs re-enabled on the log bucket). Set here so the stack never depends on cdk.json.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);

    this.network = new Network(this, 'Network', { existingVpcId: props.vpcId, endpoints: props.vpcEndpoints });
    const source = this.database('Source', props.source);
    const warehouse = this.database('Warehouse', props.warehouse);

    const dataKey = new kms.Key(this, 'DataKey', {
      enableKeyRotation: true,
      description: `totesys-cdc change stream and buckets (${this.stackName})`,
    });

    this.changeStream = new ChangeStream(this, 'ChangeStream', {
      encryptionKey: dataKey,
      capacity: props.kinesisCapacity,
      retention: props.streamRetention,
      removalPolicy: props.streamRemovalPolicy,
    });
    this.buckets = new Buckets(this, 'Buckets', {
      encryptionKey: dataKey,
      ingestionRetention: props.archiveRetention,
      ingestionTransition: props.archiveTransition,
      archiveAdminRoleArn: props.archiveAdminRoleArn,
      removalPolicy: props.dataRemovalPolicy,
    });
    this.archive = new Archive(this, 'Archive', {
      stream: this.changeStream.stream,
      streamKey: dataKey,
      ingestionBucket: this.buckets.ingestion,
      bucketKey: dataKey,
      logRetention: props.logRetention,
    });
    this.capture = new Capture(this, 'Capture', {
      vpc: this.network.vpc,
      stream: this.changeStream.stream,
      streamKey: dataKey,
      source,
      slotName: props.slotName,
      publicationName: props.publicationName,
      sourceSslMode: props.sslMode,
      architecture: props.captureArchitecture,
      logRetention: props.logRetention,
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
      removalPolicy: props.dataRemovalPolicy,
      logRetention: props.logRetention,
    });
    this.loader = new Loader(this, 'Loader', {
      vpc: this.network.vpc,
      processedBucket: this.buckets.processed,
      processedBucketKey: dataKey,
      warehouse,
      warehouseSslMode: props.sslMode,
      drainWindow: props.loaderDrainWindow,
      logRetention: props.logRetention,
    });
    this.slotMonitor = new SlotMonitor(this, 'SlotMonitor', { vpc: this.network.vpc, source, slotName: props.slotName, publicationName: props.publicationName, sourceSslMode: props.sslMode, logRetention: props.logRetention });
    this.operations = new Operations(this, 'Operations', {
      vpc: this.network.vpc,
      cluster: this.capture.cluster,
      image: this.capture.image,
      architecture: this.capture.architecture,
      source,
      warehouse,
      stream: this.changeStream.stream,
      ingestionBucket: this.buckets.ingestion,
      processedBucket: this.buckets.processed,
      dataKey,
      stateTable: this.processor.stateTable,
      processorDeadLetterQueue: this.processor.deadLetterQueue,
      processorFunctionName: this.processor.function.functionName,
      captureServiceName: this.capture.service.serviceName,
      slotName: props.slotName,
      publicationName: props.publicationName,
      sslMode: props.sslMode,
      logRetention: props.logRetention,
    });
    this.queryCatalog = new QueryCatalog(this, 'QueryCatalog', { processedBucket: this.buckets.processed });
    this.observability = new Observability(this, 'Observability', {
      stream: this.changeStream.stream,
      processorFunction: this.processor.function,
      processorDeadLetterQueue: this.processor.deadLetterQueue,
      loaderFunction: this.loader.function,
      slotMonitorFunction: this.slotMonitor.function,
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
    const ingressHint = (db: DatabaseProps, name: string) =>
      db.securityGroupId ? `ingress on ${name} (${db.securityGroupId}) added by the stack` : `allow inbound ${db.endpoint?.port ?? 5432} from this group on the ${name}`;
    new CfnOutput(this, 'CaptureSecurityGroupId', { value: this.capture.securityGroup.securityGroupId, description: ingressHint(props.source, 'totesys source database') });
    new CfnOutput(this, 'LoaderSecurityGroupId', { value: this.loader.securityGroup.securityGroupId, description: ingressHint(props.warehouse, 'warehouse database') });
    new CfnOutput(this, 'SlotMonitorSecurityGroupId', { value: this.slotMonitor.securityGroup.securityGroupId, description: ingressHint(props.source, 'totesys source database') });
    new CfnOutput(this, 'OperationsSecurityGroupId', { value: this.operations.securityGroup.securityGroupId, description: 'one-off CLI tasks: needs inbound on both databases' });
    new CfnOutput(this, 'OperationsLogGroupName', { value: this.operations.logGroup.logGroupName, description: 'output of the one-off tasks: aws logs tail <this> --follow' });
    for (const [name, args] of Object.entries(OPERATIONS_COMMANDS)) {
      new CfnOutput(this, `Run${name}Command`, { value: this.operations.runTaskCommand(args), description: `runs totesys-cdc ${args.join(' ')} inside the VPC (output: OperationsLogGroupName)` });
    }
    new CfnOutput(this, 'GlueDatabaseName', { value: this.queryCatalog.databaseName, description: 'Athena: the processed Parquet, one table per warehouse table' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
    new CfnOutput(this, 'Region', { value: Aws.REGION });
  }

  private database(name: 'Source' | 'Warehouse', props: DatabaseProps): DatabaseConnection {
    return {
      secret: importSecret(this, `${name}Secret`, props.secretArn),
      endpoint: props.endpoint,
      secretKey: props.secretKeyArn ? kms.Key.fromKeyArn(this, `${name}SecretKey`, props.secretKeyArn) : undefined,
      securityGroup: props.securityGroupId ? ec2.SecurityGroup.fromSecurityGroupId(this, `${name}SecurityGroup`, props.securityGroupId) : undefined,
    };
  }
}
