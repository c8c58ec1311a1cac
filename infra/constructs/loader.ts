import { Aws, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENTRY } from '../repo-paths.js';
import { acknowledge } from './acknowledge.js';
import { NodeLambda } from './node-lambda.js';
import { databaseClientSecurityGroup, type DatabaseConnection, grantSecretRead, lambdaDatabaseEnvironment } from './database-connection.js';

export interface LoaderProps {
  readonly vpc: ec2.IVpc;
  /** @default private subnets with egress (Secrets Manager and S3 are reached through the NAT or VPC endpoints) */
  readonly subnets?: ec2.SubnetSelection;
  readonly processedBucket: s3.IBucket;
  readonly processedBucketKey: kms.IKey;
  /** The warehouse: its secret (the loader reads it itself), endpoint, key and security group. */
  readonly warehouse: DatabaseConnection;
  /** TLS mode of the warehouse connection (added to the URL built from the secret). @default 'verify-full' */
  readonly warehouseSslMode?: 'disable' | 'require' | 'verify-ca' | 'verify-full' | 'no-verify';
  /** Handler module. @default loader/lambda/schedule-handler.ts */
  readonly entry?: string;
  /** Period of the EventBridge schedule (1 minute is EventBridge's minimum). @default Duration.minutes(1) */
  readonly schedulePeriod?: Duration;
  /**
   * How long each scheduled invocation keeps loading new manifests as they appear
   * (TOTESYS_LOADER_DRAIN_WINDOW_MS; 0 = one pass). Ends before the next tick, so consecutive
   * invocations hand over without a gap and, with reserved concurrency 1, never overlap.
   * @default the schedule period minus 2 s (58 s for rate(1 minute)): measured by bench:freshness:aws,
   * a 10 s gap each minute set the p99 (6.6 s at 1,000 changes/s, against 2.7 s at 58 s)
   */
  readonly drainWindow?: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
  /**
   * Covers the drain window plus the last load started inside it. A tick that arrives while a run
   * is still going is throttled (reserved concurrency 1) and retried by Lambda for up to a minute.
   * @default the drain window plus 4 minutes (4 min 58 s at the default drain window)
   */
  readonly timeout?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default 'info' */
  readonly logLevel?: string;
}

/**
 * Loader: a scheduled Lambda that loads new manifests' Parquet into the warehouse in idempotent
 * micro-batches. Reserved concurrency 1: two loaders never run at once, so manifests load in order
 * and a slow run makes the next tick wait (throttled) rather than race.
 */
export class Loader extends Construct {
  readonly function: lambda.IFunction;
  readonly role: iam.IRole;
  readonly securityGroup: ec2.SecurityGroup;
  readonly rule: events.Rule;
  readonly drainWindow: Duration;

  constructor(scope: Construct, id: string, props: LoaderProps) {
    super(scope, id);
    this.securityGroup = databaseClientSecurityGroup(this, props.vpc, 'totesys-cdc loader: egress to the warehouse (5432), Secrets Manager and S3 (443)', [
      { db: props.warehouse, description: 'totesys-cdc loader to the warehouse Postgres' },
    ]);

    const period = props.schedulePeriod ?? Duration.minutes(1);
    if (period.toSeconds() < 60) throw new Error(`Loader: schedulePeriod must be at least 1 minute (EventBridge's minimum), got ${period.toHumanString()}`);
    this.drainWindow = props.drainWindow ?? Duration.seconds(Math.max(0, period.toSeconds() - 2));
    if (this.drainWindow.toMilliseconds() >= period.toMilliseconds()) {
      throw new Error(`Loader: drainWindow (${this.drainWindow.toHumanString()}) must end before the next tick (${period.toHumanString()})`);
    }
    const timeout = props.timeout ?? Duration.seconds(this.drainWindow.toSeconds() + 240);
    if (timeout.toSeconds() <= this.drainWindow.toSeconds()) throw new Error('Loader: timeout must be longer than drainWindow');

    const lambdaFn = new NodeLambda(this, 'Handler', {
      entry: props.entry ?? ENTRY.loaderHandler,
      description: 'totesys-cdc loader: processed Parquet -> warehouse',
      memorySize: props.memorySize ?? 1024,
      timeout,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      reservedConcurrentExecutions: 1,
      network: { vpc: props.vpc, subnets: props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroup: this.securityGroup },
      environment: {
        TOTESYS_BUCKETS: 's3',
        TOTESYS_PROCESSED_BUCKET: props.processedBucket.bucketName,
        ...lambdaDatabaseEnvironment('TOTESYS_WAREHOUSE', props.warehouse),
        TOTESYS_LOADER_DRAIN_WINDOW_MS: String(this.drainWindow.toMilliseconds()),
        TOTESYS_WAREHOUSE_SSLMODE: props.warehouseSslMode ?? 'verify-full',
        TOTESYS_LOG_LEVEL: props.logLevel ?? 'info',
        // Node 20 Lambda runtimes no longer trust the RDS CAs by default; the runtime ships them here.
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      },
    });
    this.function = lambdaFn.function;
    this.role = lambdaFn.role;
    // Each tick is superseded by the next one a minute later: do not queue or retry stale ticks
    // behind a slow run (the loader picks up every unloaded manifest on its next run anyway).
    lambdaFn.function.configureAsyncInvoke({ maxEventAge: Duration.seconds(60), retryAttempts: 0 });

    lambdaFn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ListProcessedBucket', actions: ['s3:ListBucket'], resources: [props.processedBucket.bucketArn] }),
    );
    lambdaFn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ReadProcessedObjects', actions: ['s3:GetObject'], resources: [props.processedBucket.arnForObjects('*')] }),
    );
    lambdaFn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'DecryptProcessedObjects', actions: ['kms:Decrypt'], resources: [props.processedBucketKey.keyArn] }),
    );
    grantSecretRead(lambdaFn.role, props.warehouse, 'Warehouse', Aws.REGION);
    const bucketResource = props.processedBucket.node.defaultChild as { logicalId?: string } | undefined;
    const bucketId = bucketResource?.logicalId ? props.processedBucket.stack.resolve(bucketResource.logicalId) : 'ProcessedBucket';
    acknowledge(lambdaFn.role, `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`, 'The loader reads whichever Parquet files the manifests name; read-only access to objects of this one bucket.');

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'totesys-cdc loader tick',
      schedule: events.Schedule.rate(period),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
  }
}
