import { Aws, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.js';
import { databaseClientSecurityGroup, type DatabaseConnection, ecsDatabaseVariables, grantKeyDecrypt } from './database-connection.js';

/** The one-off commands the stack prints ready `aws ecs run-task` lines for (output name → CLI arguments). */
export const OPERATIONS_COMMANDS = {
  Status: ['status'],
  Doctor: ['doctor'],
  RedriveDlq: ['redrive-dlq'],
  ReplayRebuild: ['replay', '--rebuild'],
  // Non-interactive: a task has no terminal to confirm on. Stop the capture service first.
  Teardown: ['teardown', '--yes'],
} as const;

/** Name of the CLI container in the operations task definition (the `name` of a container override). */
const OPERATIONS_CONTAINER = 'cli';

export interface OperationsProps {
  readonly vpc: ec2.IVpc;
  /** @default private subnets with egress */
  readonly subnets?: ec2.SubnetSelection;
  /** The capture's cluster: one-off tasks run beside the capture. */
  readonly cluster: ecs.ICluster;
  /** The capture's image: the CLI bundle is in it (cli.mjs). */
  readonly image: ecs.ContainerImage;
  readonly architecture: ecs.CpuArchitecture;
  readonly source: DatabaseConnection;
  readonly warehouse: DatabaseConnection;
  readonly stream: kinesis.IStream;
  readonly ingestionBucket: s3.IBucket;
  readonly processedBucket: s3.IBucket;
  /** Key of the stream and both buckets. */
  readonly dataKey: kms.IKey;
  readonly stateTable: dynamodb.ITable;
  readonly processorDeadLetterQueue: sqs.IQueue;
  /** `status` reads its per-function iterator age. */
  readonly processorFunctionName: string;
  readonly captureServiceName: string;
  /** @default 'totesys_cdc' */
  readonly slotName?: string;
  /** @default 'totesys_cdc' */
  readonly publicationName?: string;
  /** @default 'verify-full' (both databases) */
  readonly sslMode?: 'disable' | 'require' | 'verify-ca' | 'verify-full' | 'no-verify';
  /** `replay --rebuild` holds lanes of batches in memory. @default 1024 (1 vCPU) */
  readonly cpu?: number;
  /** @default 4096 */
  readonly memoryLimitMiB?: number;
  /** Replay's merge runs spill to the task's disk. @default 50 */
  readonly ephemeralStorageGiB?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * One-off operations inside the VPC (the source and the warehouse are private): a Fargate task
 * definition running the `totesys-cdc` CLI from the capture image, with both databases' credentials
 * as ECS secrets and its output in CloudWatch Logs. `runTaskCommand(args)` is a ready
 * `aws ecs run-task` line; the stack prints one per command in OPERATIONS_COMMANDS.
 */
export class Operations extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;
  readonly taskRole: iam.Role;
  private readonly subnetIds: string[];
  private readonly clusterName: string;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.clusterName = props.cluster.clusterName;
    this.subnetIds = props.vpc.selectSubnets(props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds;
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });

    this.securityGroup = databaseClientSecurityGroup(this, props.vpc, 'totesys-cdc operations tasks: egress to the source and warehouse Postgres (5432) and AWS APIs (443)', [
      { db: props.source, description: 'totesys-cdc operations to the source Postgres' },
      { db: props.warehouse, description: 'totesys-cdc operations to the warehouse Postgres' },
    ]);

    const role = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'totesys-cdc operations: status, doctor, replay --rebuild, teardown, DLQ redrive',
    });
    this.taskRole = role;
    const statement = (sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions, resources, conditions }));
    // status: stream shape and iterator age; redrive: read the ranges the DLQ names.
    statement('ReadChangeStream', ['kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'], [props.stream.streamArn]);
    // replay reads the archive; status lists manifests.
    statement('ListBuckets', ['s3:ListBucket'], [props.ingestionBucket.bucketArn, props.processedBucket.bucketArn]);
    statement('ReadArchive', ['s3:GetObject'], [props.ingestionBucket.arnForObjects('changes/*')]);
    // replay --rebuild and redrive write Parquet and manifests like the processor (never delete).
    statement('ReadWriteProcessedObjects', ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], [props.processedBucket.arnForObjects('*')]);
    statement('UseDataKey', ['kms:Decrypt', 'kms:GenerateDataKey'], [props.dataKey.keyArn]);
    statement('ReadWriteJoinState', ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable'], [props.stateTable.tableArn]);
    // status: DLQ depth; redrive: take entries off once their range is processed again.
    statement('RedriveDeadLetters', ['sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'], [props.processorDeadLetterQueue.queueArn]);
    // status: the capture's heartbeat, iterator age and freshness metrics.
    statement('ReadMetrics', ['cloudwatch:GetMetricData'], ['*']);
    statement('DescribeCapture', ['ecs:DescribeServices'], [`arn:${Aws.PARTITION}:ecs:${Aws.REGION}:${Aws.ACCOUNT_ID}:service/${props.cluster.clusterName}/${props.captureServiceName}`]);
    acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', 'cloudwatch:GetMetricData supports no resource-level permission; the role reads metrics only.');
    for (const [bucket, suffix] of [
      [props.ingestionBucket, 'changes/*'],
      [props.processedBucket, '*'],
    ] as const) {
      const child = bucket.node.defaultChild as { logicalId?: string } | undefined;
      const logicalId = child?.logicalId ? Stack.of(this).resolve(child.logicalId) : bucket.node.id;
      acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${suffix}]`, 'Replay and redrive read and write objects named per batch; access is limited to this bucket (archive: the changes/ prefix, read-only) and never deletes.');
    }

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryLimitMiB ?? 4096,
      ephemeralStorageGiB: props.ephemeralStorageGiB ?? 50,
      taskRole: role,
      runtimePlatform: { cpuArchitecture: props.architecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const source = ecsDatabaseVariables('TOTESYS_SOURCE', props.source);
    const warehouse = ecsDatabaseVariables('TOTESYS_WAREHOUSE', props.warehouse);
    this.taskDefinition.addContainer(OPERATIONS_CONTAINER, {
      image: props.image,
      essential: true,
      command: ['cli.mjs', '--help'],
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'ops' }),
      environment: {
        TOTESYS_STREAM: 'kinesis',
        TOTESYS_KINESIS_STREAM_NAME: props.stream.streamName,
        TOTESYS_BUCKETS: 's3',
        TOTESYS_INGESTION_BUCKET: props.ingestionBucket.bucketName,
        TOTESYS_PROCESSED_BUCKET: props.processedBucket.bucketName,
        TOTESYS_STATE_STORE: 'dynamodb',
        TOTESYS_DYNAMODB_TABLE: props.stateTable.tableName,
        TOTESYS_PROCESSOR_DLQ_URL: props.processorDeadLetterQueue.queueUrl,
        TOTESYS_PROCESSOR_FUNCTION_NAME: props.processorFunctionName,
        TOTESYS_CAPTURE_CLUSTER: props.cluster.clusterName,
        TOTESYS_CAPTURE_SERVICE: props.captureServiceName,
        AWS_REGION: Aws.REGION,
        TOTESYS_SLOT_NAME: props.slotName ?? 'totesys_cdc',
        TOTESYS_PUBLICATION_NAME: props.publicationName ?? 'totesys_cdc',
        TOTESYS_STATE_DIR: '/tmp/totesys-cdc',
        PGSSLMODE: props.sslMode ?? 'verify-full',
        ...source.environment,
        ...warehouse.environment,
      },
      secrets: { ...source.secrets, ...warehouse.secrets },
    });
    const executionRole = this.taskDefinition.obtainExecutionRole();
    grantKeyDecrypt(executionRole, props.source, 'Source', Aws.REGION);
    grantKeyDecrypt(executionRole, props.warehouse, 'Warehouse', Aws.REGION);
    acknowledge(executionRole, 'AwsSolutions-IAM5[Resource::*]', 'ecr:GetAuthorizationToken (pulling the image) only supports Resource "*"; image pulls, log writes and secret reads are scoped.');
    acknowledge(this.taskDefinition, 'AwsSolutions-ECS2', 'Only non-secret settings (resource names, slot name, TLS mode) are plain environment variables; credentials come from Secrets Manager via ECS secrets.');
  }

  /** A ready `aws ecs run-task` line running `totesys-cdc <args>` in the VPC; follow its output with `aws logs tail`. */
  runTaskCommand(args: readonly string[]): string {
    const overrides = JSON.stringify({ containerOverrides: [{ name: OPERATIONS_CONTAINER, command: ['cli.mjs', ...args] }] });
    return [
      'aws ecs run-task',
      `--cluster ${this.clusterName}`,
      `--task-definition ${this.taskDefinition.family}`,
      '--launch-type FARGATE',
      `--network-configuration 'awsvpcConfiguration={subnets=[${Fn.join(',', this.subnetIds)}],securityGroups=[${this.securityGroup.securityGroupId}],assignPublicIp=DISABLED}'`,
      `--overrides '${overrides}'`,
    ].join(' ');
  }
}
