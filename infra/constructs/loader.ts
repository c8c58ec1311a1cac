import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENTRY } from '../repo-paths.js';
import { acknowledge } from './acknowledge.js';
import { NodeLambda } from './node-lambda.js';
import { secretPolicyArn } from './secret-reference.js';

export interface LoaderProps {
  readonly vpc: ec2.IVpc;
  /** @default private subnets with egress (Secrets Manager and S3 are reached through the NAT or VPC endpoints) */
  readonly subnets?: ec2.SubnetSelection;
  readonly processedBucket: s3.IBucket;
  readonly processedBucketKey: kms.IKey;
  /** RDS-format JSON secret {host, port, dbname, username, password} of the warehouse. */
  readonly warehouseSecret: secretsmanager.ISecret;
  /** Customer-managed key of the warehouse secret, if it has one. @default the AWS managed key (no grant needed) */
  readonly warehouseSecretKeyArn?: string;
  /** TLS mode of the warehouse connection (added to the URL built from the secret). @default 'verify-full' */
  readonly warehouseSslMode?: 'disable' | 'require' | 'verify-ca' | 'verify-full' | 'no-verify';
  /** Handler module. @default loader/lambda/schedule-handler.ts */
  readonly entry?: string;
  /** EventBridge schedule (1 minute is EventBridge's minimum). @default rate(1 minute) */
  readonly schedule?: events.Schedule;
  /** @default 1024 */
  readonly memorySize?: number;
  /** A run must finish well before the next would start stacking up. @default Duration.minutes(5) */
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
  readonly securityGroup: ec2.ISecurityGroup;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: LoaderProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'totesys-cdc loader: egress to the warehouse (5432), Secrets Manager and S3 (443)',
      allowAllOutbound: true,
    });

    const lambdaFn = new NodeLambda(this, 'Handler', {
      entry: props.entry ?? ENTRY.loaderHandler,
      description: 'totesys-cdc loader: processed Parquet -> warehouse',
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(5),
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      reservedConcurrentExecutions: 1,
      network: { vpc: props.vpc, subnets: props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroup: this.securityGroup },
      environment: {
        TOTESYS_BUCKETS: 's3',
        TOTESYS_PROCESSED_BUCKET: props.processedBucket.bucketName,
        TOTESYS_WAREHOUSE_SECRET_ARN: props.warehouseSecret.secretArn,
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
    lambdaFn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWarehouseSecret',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [secretPolicyArn(props.warehouseSecret.secretArn)],
      }),
    );
    if (props.warehouseSecretKeyArn) {
      lambdaFn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'DecryptWarehouseSecret', actions: ['kms:Decrypt'], resources: [props.warehouseSecretKeyArn] }),
      );
    }
    const bucketResource = props.processedBucket.node.defaultChild as { logicalId?: string } | undefined;
    const bucketId = bucketResource?.logicalId ? props.processedBucket.stack.resolve(bucketResource.logicalId) : 'ProcessedBucket';
    acknowledge(lambdaFn.role, `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`, 'The loader reads whichever Parquet files the manifests name; read-only access to objects of this one bucket.');

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'totesys-cdc loader tick',
      schedule: props.schedule ?? events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
  }
}
