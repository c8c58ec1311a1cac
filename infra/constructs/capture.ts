import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE } from '../../platform/metrics.js';
import { ENTRY, REPO_ROOT } from '../repo-paths.js';
import { acknowledge } from './acknowledge.js';
import { databaseClientSecurityGroup, type DatabaseConnection, ecsDatabaseVariables, grantKeyDecrypt } from './database-connection.js';

/**
 * The capture rewrites this status JSON atomically every 2 s (phase, LSNs, slot lag); the container
 * health check reads its age and phase. Local state lives under /tmp: the image's /app is read-only
 * for the non-root user.
 */
export const CAPTURE_STATE_DIR = '/tmp/totesys-cdc';
export const CAPTURE_STATUS_FILE = '/tmp/totesys-cdc/capture-status.json';
/**
 * Healthy while the status file is fresh and the capture has not failed. Exec form (no shell):
 * node is in the image; the script never throws past its catch.
 */
export function captureHealthCheckScript(maxAgeMs: number): string {
  return (
    "try{const fs=require('node:fs');const f=process.env.TOTESYS_CAPTURE_STATUS_FILE;" +
    `if(Date.now()-fs.statSync(f).mtimeMs>${maxAgeMs})process.exit(1);` +
    "process.exit(JSON.parse(fs.readFileSync(f,'utf8')).phase==='failed'?1:0)}catch{process.exit(1)}"
  );
}
/** Capture metrics published from its JSON log lines by metric filters (see below). */
export const CAPTURE_LOG_METRICS = [METRIC.slotLagBytes, METRIC.captureHeartbeat, METRIC.eventsPublished, METRIC.confirmedLsnLagMs, METRIC.sinkLatencyMs] as const;

export interface CaptureProps {
  readonly vpc: ec2.IVpc;
  /** @default private subnets with egress */
  readonly subnets?: ec2.SubnetSelection;
  readonly stream: kinesis.IStream;
  readonly streamKey: kms.IKey;
  /** The totesys source: its secret (username, password; host, port, dbname unless `endpoint` says), key and security group. */
  readonly source: DatabaseConnection;
  /** @default 'totesys_cdc' */
  readonly slotName?: string;
  /** @default 'totesys_cdc' */
  readonly publicationName?: string;
  /**
   * libpq-style TLS mode for the source connection (node-postgres reads PGSSLMODE). verify-full
   * checks the certificate chain (the image trusts the RDS CA bundle) and the host name.
   * @default 'verify-full'
   */
  readonly sourceSslMode?: 'disable' | 'require' | 'verify-ca' | 'verify-full' | 'no-verify';
  /** @default 512 (0.5 vCPU) */
  readonly cpu?: number;
  /** @default 1024 */
  readonly memoryLimitMiB?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default 'info' */
  readonly logLevel?: string;
  /**
   * Container health check: the status file (rewritten every 2 s while the process runs) must be
   * younger than this, and its phase not `failed`.
   * @default Duration.seconds(60)
   */
  readonly statusFileMaxAge?: Duration;
  /**
   * CPU architecture of the task; the image is built for the same platform, so a laptop or CI of
   * the other architecture still produces an image that starts. ARM64 (Graviton) costs about 20 %
   * less per vCPU-hour.
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly architecture?: ecs.CpuArchitecture;
  /** The image. @default built from the repository root with capture/Dockerfile for `architecture` */
  readonly image?: ecs.ContainerImage;
}

/** The Docker platform an image for this task architecture is built for. */
function imagePlatformOf(architecture: ecs.CpuArchitecture): Platform {
  return architecture === ecs.CpuArchitecture.ARM64 ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64;
}

/** The capture image (capture/Dockerfile): the capture bundle by default, the CLI bundle with command ['cli.mjs', ...]. */
function captureImage(architecture: ecs.CpuArchitecture): ecs.ContainerImage {
  return ecs.ContainerImage.fromAsset(REPO_ROOT, { file: ENTRY.captureDockerfile, platform: imagePlatformOf(architecture) });
}

/**
 * Capture: one Fargate task reading the logical replication slot and publishing change events to
 * the stream. Exactly one may run: a slot has a single consumer, and a second capture would only
 * fail and restart. Deployments therefore stop the old task before starting the new one
 * (minHealthyPercent 0, maxHealthyPercent 100), and the stop timeout gives the SIGTERM handler
 * time to confirm what is durable.
 */
export class Capture extends Construct {
  readonly cluster: ecs.Cluster;
  readonly service: ecs.FargateService;
  readonly taskRole: iam.IRole;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The image the task runs (one-off operations tasks run the same one). */
  readonly image: ecs.ContainerImage;
  readonly architecture: ecs.CpuArchitecture;

  constructor(scope: Construct, id: string, props: CaptureProps) {
    super(scope, id);
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: props.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    // ECS's awslogs driver does not send the embedded-metric-format header, so CloudWatch would not
    // extract the capture's EMF lines by itself: metric filters publish the same metrics (same
    // namespace, name and `SlotName` dimension) from those JSON lines instead.
    for (const metricName of CAPTURE_LOG_METRICS) {
      new logs.MetricFilter(this, `Metric-${metricName}`, {
        logGroup: this.logGroup,
        metricNamespace: METRICS_NAMESPACE,
        metricName,
        // Only embedded-metric-format lines (not ordinary log lines that mention the same field),
        // so a value is never counted twice.
        filterPattern: logs.FilterPattern.all(
          logs.FilterPattern.stringValue('$._aws.CloudWatchMetrics[0].Namespace', '=', METRICS_NAMESPACE),
          logs.FilterPattern.numberValue(`$.${metricName}`, '>=', 0),
        ),
        metricValue: `$.${metricName}`,
        dimensions: { SlotName: '$.SlotName' },
      });
    }

    const taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'totesys-cdc capture: publish change events to the change stream',
    });
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishChangeEvents',
        actions: ['kinesis:PutRecords', 'kinesis:PutRecord', 'kinesis:DescribeStreamSummary', 'kinesis:ListShards'],
        resources: [props.stream.streamArn],
      }),
    );
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptChangeEvents',
        actions: ['kms:GenerateDataKey'],
        resources: [props.streamKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `kinesis.${Aws.REGION}.amazonaws.com` } },
      }),
    );
    this.taskRole = taskRole;

    const architecture = props.architecture ?? ecs.CpuArchitecture.X86_64;
    this.architecture = architecture;
    this.image = props.image ?? captureImage(architecture);
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      taskRole,
      runtimePlatform: { cpuArchitecture: architecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.taskDefinition = taskDefinition;
    const source = ecsDatabaseVariables('TOTESYS_SOURCE', props.source);

    const maxAgeMs = (props.statusFileMaxAge ?? Duration.seconds(60)).toMilliseconds();
    taskDefinition.addContainer('capture', {
      image: this.image,
      essential: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'capture' }),
      environment: {
        TOTESYS_STREAM: 'kinesis',
        TOTESYS_KINESIS_STREAM_NAME: props.stream.streamName,
        AWS_REGION: Aws.REGION,
        TOTESYS_SLOT_NAME: props.slotName ?? 'totesys_cdc',
        TOTESYS_PUBLICATION_NAME: props.publicationName ?? 'totesys_cdc',
        TOTESYS_LOG_LEVEL: props.logLevel ?? 'info',
        TOTESYS_METRICS: 'emf',
        TOTESYS_STATE_DIR: CAPTURE_STATE_DIR,
        TOTESYS_CAPTURE_STATUS_FILE: CAPTURE_STATUS_FILE,
        PGSSLMODE: props.sourceSslMode ?? 'verify-full',
        ...source.environment,
      },
      // Injected by ECS from the secret's JSON keys at task start; never in the task definition.
      secrets: source.secrets,
      healthCheck: {
        command: ['CMD', 'node', '-e', captureHealthCheckScript(maxAgeMs)],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        // The first connect and slot creation come before the first status write.
        startPeriod: Duration.seconds(300),
      },
      // Fargate's maximum: time for the SIGTERM handler to confirm what is durable and exit 0.
      stopTimeout: Duration.seconds(120),
    });
    // ECS reads the secret with the execution role when it starts the task.
    grantKeyDecrypt(taskDefinition.obtainExecutionRole(), props.source, 'Source', Aws.REGION);
    acknowledge(
      taskDefinition.obtainExecutionRole(),
      'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken (pulling the image) only supports Resource "*"; image pulls, log writes and secret reads are scoped to this repository, log group and secret.',
    );
    acknowledge(taskDefinition, 'AwsSolutions-ECS2', 'Only non-secret settings (stream name, slot name, log level, TLS mode) are plain environment variables; credentials come from Secrets Manager via ECS secrets.');

    this.securityGroup = databaseClientSecurityGroup(this, props.vpc, 'totesys-cdc capture: egress to the source Postgres (5432) and Kinesis (443)', [
      { db: props.source, description: 'totesys-cdc capture to the source Postgres' },
    ]);

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition,
      desiredCount: 1,
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      circuitBreaker: { enable: true, rollback: true },
      vpcSubnets: props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      assignPublicIp: false,
      enableExecuteCommand: false,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
    });
  }
}
