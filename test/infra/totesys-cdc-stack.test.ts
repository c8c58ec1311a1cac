import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firehoseArchiveDestinationSettings } from '../../archive/firehose-settings.js';
import { STATE_TABLE_KEY_SCHEMA } from '../../stream-processors/state/dynamodb-join-state-store.js';
import { CAPTURE_LOG_METRICS, captureHealthCheckScript } from '../../infra/constructs/capture.js';
import { TotesysCdcStack } from '../../infra/totesys-cdc-stack.js';
import { REPO_ROOT } from '../../infra/repo-paths.js';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES, type WarehouseTable } from '../../contracts/warehouse-model.js';
import { cdkJsonContext } from './cdk-json-context.js';
import { actionsOfRole, auditIdentityPolicies, identityStatements } from './iam-policy-audit.js';
import { loadConfig, SETTINGS } from '../../platform/config.js';

const SOURCE_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:totesys-source-AbCdEf';
const WAREHOUSE_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:totesys-warehouse';

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[]; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

let outdir: string;
let stack: TotesysCdcStack;
let template: Template;
let resources: Resources;

/** The one resource of a type whose logical id starts with `prefix` (logical ids follow construct paths). */
function one(type: string, prefix: string): { id: string; Properties: Record<string, any>; DependsOn?: string[]; DeletionPolicy?: string } {
  const matches = Object.entries(resources).filter(([id, r]) => r.Type === type && id.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`expected one ${type} with id ${prefix}*, found ${matches.map(([id]) => id).join(', ') || 'none'}`);
  const [id, r] = matches[0]!;
  return { id, ...r };
}
const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

let previousValidation: string | undefined;
beforeAll(() => {
  // CloudFormation schema validation (built into synth) costs ~15 s of CPU to load on this shared
  // 2-core machine; `npx cdk synth` runs it for every deployment, so the test leaves it out.
  previousValidation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  // One synthesis for the whole file (bundles both Lambdas with the local esbuild).
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'totesys-infra-'));
  // The feature flags `cdk synth` applies (cdk.json), so the template tested is the one deployed.
  const app = new App({ outdir, context: cdkJsonContext() });
  stack = new TotesysCdcStack(app, 'TotesysCdc', {
    source: { secretArn: SOURCE_SECRET_ARN },
    warehouse: { secretArn: WAREHOUSE_SECRET_ARN },
    alertEmail: 'ops@example.com',
  });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Resources;
});

afterAll(() => {
  if (previousValidation === undefined) delete process.env.CDK_VALIDATION;
  else process.env.CDK_VALIDATION = previousValidation;
  if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
});

describe('Network', () => {
  it('is a new 2-AZ VPC with one NAT gateway, private subnets with egress and rejected-traffic flow logs', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', ResourceType: 'VPC' });
    const privateSubnets = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::EC2::Subnet' && r.Properties.MapPublicIpOnLaunch === false);
    expect(privateSubnets).toHaveLength(2);
    const capture = one('AWS::ECS::Service', 'CaptureService').Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets;
    expect(capture.map((s: { Ref: string }) => s.Ref).sort()).toEqual(privateSubnets.map(([id]) => id).sort());
  });
});

describe('ChangeStream', () => {
  it('is an on-demand Kinesis stream encrypted with the rotating customer-managed key, 7 days retention, named by CloudFormation, deleted on destroy', () => {
    const key = one('AWS::KMS::Key', 'DataKey');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const s = one('AWS::Kinesis::Stream', 'ChangeStream');
    expect(s.Properties.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
    expect(s.Properties.ShardCount).toBeUndefined();
    expect(s.Properties.StreamEncryption).toEqual({ EncryptionType: 'KMS', KeyId: arnOf(key.id) });
    expect(s.Properties.RetentionPeriodHours).toBe(168);
    // No fixed physical name: two stacks in one account and region, or a redeploy after destroy, never collide.
    expect(s.Properties.Name).toBeUndefined();
    expect(s.DeletionPolicy).toBe('Delete');
    // Nothing else carries a fixed name either (the Glue database is derived from the stack name).
    const named = Object.entries(resources).filter(([, r]) =>
      ['AWS::S3::Bucket', 'AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::Lambda::Function', 'AWS::ECS::Cluster', 'AWS::Logs::LogGroup', 'AWS::IAM::Role', 'AWS::KMS::Alias', 'AWS::SNS::Topic'].includes(r.Type) &&
      Object.keys(r.Properties ?? {}).some((k) => /^(BucketName|TableName|QueueName|FunctionName|ClusterName|LogGroupName|RoleName|AliasName|TopicName)$/.test(k)),
    );
    expect(named.map(([id]) => id)).toEqual([]);
  });
});

describe('Buckets', () => {
  const buckets = () => ['BucketsIngestion', 'BucketsProcessed', 'BucketsAccessLogs'].map((p) => one('AWS::S3::Bucket', p));

  it('block all public access, are encrypted and versioned, and are retained', () => {
    for (const b of buckets()) {
      expect(b.Properties.PublicAccessBlockConfiguration, b.id).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(b.Properties.VersioningConfiguration, b.id).toEqual({ Status: 'Enabled' });
      expect(b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm, b.id).toMatch(/aws:kms|AES256/);
      expect(b.DeletionPolicy, b.id).toBe('Retain');
    }
    const [ingestion, processed] = buckets();
    for (const b of [ingestion!, processed!]) {
      expect(b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({
        SSEAlgorithm: 'aws:kms',
        KMSMasterKeyID: arnOf(one('AWS::KMS::Key', 'DataKey').id),
      });
      expect(b.Properties.LoggingConfiguration.DestinationBucketName).toEqual(ref(one('AWS::S3::Bucket', 'BucketsAccessLogs').id));
    }
  });

  it('deny every request without TLS', () => {
    for (const b of buckets()) {
      const policy = Object.values(resources).find((r) => r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r.Properties.Bucket) === JSON.stringify(ref(b.id)));
      expect(policy, b.id).toBeDefined();
      expect(policy!.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Principal: { AWS: '*' } }),
        ]),
      );
    }
  });

  it('make the ingestion bucket immutable: Object Lock (governance, 365 days), no deletes and no governance bypass for anyone (no admin role by default)', () => {
    const ingestion = one('AWS::S3::Bucket', 'BucketsIngestion');
    expect(ingestion.Properties.ObjectLockEnabled).toBe(true);
    expect(ingestion.Properties.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } } });
    const policy = Object.values(resources).find((r) => r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r.Properties.Bucket) === JSON.stringify(ref(ingestion.id)))!;
    expect(policy.Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Sid: 'DenyDeletingArchivedChanges',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: ['s3:BypassGovernanceRetention', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectRetention'],
        }),
      ]),
    );
    const deny = policy.Properties.PolicyDocument.Statement.find((st: { Sid?: string }) => st.Sid === 'DenyDeletingArchivedChanges');
    expect(deny.Condition).toBeUndefined();
    // And no identity policy in the stack allows deleting objects anywhere.
    const deleting = identityStatements(template.toJSON() as never).filter((st) => st.effect === 'Allow' && st.actions.some((a) => /^s3:Delete/.test(a)));
    expect(deleting).toEqual([]);
  });
});

describe('Buckets lifecycle', () => {
  it('moves the archive to a colder class after 30 days and never expires it; processed keeps 30 days of superseded versions', () => {
    const rules = one('AWS::S3::Bucket', 'BucketsIngestion').Properties.LifecycleConfiguration.Rules;
    expect(rules).toEqual([
      { Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      { Id: 'archive-to-colder-storage', Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }], Status: 'Enabled' },
    ]);
    expect(JSON.stringify(rules)).not.toMatch(/Expiration/);
    expect(one('AWS::S3::Bucket', 'BucketsProcessed').Properties.LifecycleConfiguration.Rules[0]).toEqual(expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }));
  });
});

describe('Archive', () => {
  it('is a Firehose from the stream to the ingestion bucket with the shared archive layout', () => {
    const layout = firehoseArchiveDestinationSettings();
    const ds = one('AWS::KinesisFirehose::DeliveryStream', 'ArchiveDeliveryStream');
    const role = one('AWS::IAM::Role', 'ArchiveRole');
    expect(ds.Properties.DeliveryStreamType).toBe('KinesisStreamAsSource');
    expect(ds.Properties.KinesisStreamSourceConfiguration).toEqual({ KinesisStreamARN: arnOf(one('AWS::Kinesis::Stream', 'ChangeStream').id), RoleARN: arnOf(role.id) });
    const dest = ds.Properties.ExtendedS3DestinationConfiguration;
    expect(dest.BucketARN).toEqual(arnOf(one('AWS::S3::Bucket', 'BucketsIngestion').id));
    expect(dest.Prefix).toBe('changes/table=!{partitionKeyFromQuery:table}/date=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/');
    expect(dest.ErrorOutputPrefix).toBe('errors/!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/');
    expect(dest.CompressionFormat).toBe('GZIP');
    expect(dest.FileExtension).toBe(layout.fileExtension);
    expect(dest.BufferingHints).toEqual({ IntervalInSeconds: 60, SizeInMBs: 64 });
    expect(dest.DynamicPartitioningConfiguration).toEqual({ Enabled: true, RetryOptions: { DurationInSeconds: layout.dynamicPartitioningConfiguration.retryOptions.durationInSeconds } });
    expect(dest.ProcessingConfiguration).toEqual({
      Enabled: true,
      Processors: [
        {
          Type: 'MetadataExtraction',
          Parameters: [
            { ParameterName: 'MetadataExtractionQuery', ParameterValue: '{table: (if .kind == "watermark" then "_watermark" else .table end)}' },
            { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
          ],
        },
        { Type: 'AppendDelimiterToRecord', Parameters: [{ ParameterName: 'Delimiter', ParameterValue: '\\n' }] },
      ],
    });
    expect(dest.EncryptionConfiguration).toEqual({ KMSEncryptionConfig: { AWSKMSKeyARN: arnOf(one('AWS::KMS::Key', 'DataKey').id) } });
    expect(dest.CloudWatchLoggingOptions).toEqual(expect.objectContaining({ Enabled: true, LogGroupName: ref(one('AWS::Logs::LogGroup', 'ArchiveLogs').id) }));
    // Firehose checks its role's permissions when it is created.
    expect(ds.DependsOn).toContain(one('AWS::IAM::Policy', 'ArchiveRolePolicy').id);
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0]).toEqual(
      expect.objectContaining({ Principal: { Service: 'firehose.amazonaws.com' }, Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'AWS::AccountId' } } } }),
    );
  });
});

describe('Capture', () => {
  it('runs exactly one Fargate task: old task stops before a new one starts, circuit breaker with rollback', () => {
    const service = one('AWS::ECS::Service', 'CaptureService');
    expect(service.Properties.DesiredCount).toBe(1);
    expect(service.Properties.LaunchType).toBe('FARGATE');
    expect(service.Properties.DeploymentConfiguration).toEqual(
      expect.objectContaining({ MinimumHealthyPercent: 0, MaximumPercent: 100, DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
    );
    expect(service.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe('DISABLED');
    expect(one('AWS::ECS::Cluster', 'CaptureCluster').Properties.ClusterSettings).toEqual([{ Name: 'containerInsights', Value: 'enabled' }]);
  });

  it('gets credentials only as ECS secrets from the source secret JSON keys, config as plain env', () => {
    const task = one('AWS::ECS::TaskDefinition', 'CaptureTaskDefinition');
    const [container] = task.Properties.ContainerDefinitions;
    expect(task.Properties.ContainerDefinitions).toHaveLength(1);
    expect(container.Secrets).toEqual([
      { Name: 'TOTESYS_SOURCE_HOST', ValueFrom: `${SOURCE_SECRET_ARN}:host::` },
      { Name: 'TOTESYS_SOURCE_PORT', ValueFrom: `${SOURCE_SECRET_ARN}:port::` },
      { Name: 'TOTESYS_SOURCE_DB', ValueFrom: `${SOURCE_SECRET_ARN}:dbname::` },
      { Name: 'TOTESYS_SOURCE_USER', ValueFrom: `${SOURCE_SECRET_ARN}:username::` },
      { Name: 'TOTESYS_SOURCE_PASSWORD', ValueFrom: `${SOURCE_SECRET_ARN}:password::` },
    ]);
    const env = Object.fromEntries(container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
    expect(env).toEqual({
      TOTESYS_STREAM: 'kinesis',
      TOTESYS_KINESIS_STREAM_NAME: ref(one('AWS::Kinesis::Stream', 'ChangeStream').id),
      AWS_REGION: { Ref: 'AWS::Region' },
      TOTESYS_SLOT_NAME: 'totesys_cdc',
      TOTESYS_PUBLICATION_NAME: 'totesys_cdc',
      TOTESYS_LOG_LEVEL: 'info',
      TOTESYS_METRICS: 'emf',
      TOTESYS_STATE_DIR: '/tmp/totesys-cdc',
      TOTESYS_CAPTURE_STATUS_FILE: '/tmp/totesys-cdc/capture-status.json',
      PGSSLMODE: 'verify-full',
    });
    expect(JSON.stringify(container.Environment)).not.toMatch(/password|secret/i);
  });

  it('has a health check, a 120 s stop timeout for the SIGTERM handler, and logs to CloudWatch with retention', () => {
    const [container] = one('AWS::ECS::TaskDefinition', 'CaptureTaskDefinition').Properties.ContainerDefinitions;
    expect(container.StopTimeout).toBe(120);
    expect(container.HealthCheck.Command).toEqual(['CMD', 'node', '-e', captureHealthCheckScript(60_000)]);
    expect(container.HealthCheck).toEqual(expect.objectContaining({ Interval: 30, Retries: 3, StartPeriod: 300, Timeout: 5 }));
    expect(container.LogConfiguration.LogDriver).toBe('awslogs');
    expect(container.LogConfiguration.Options['awslogs-group']).toEqual(ref(one('AWS::Logs::LogGroup', 'CaptureLogs').id));
    expect(one('AWS::Logs::LogGroup', 'CaptureLogs').Properties.RetentionInDays).toBe(30);
    expect(container.Image['Fn::Sub']).toContain('container-assets');
  });

  it('publishes its log-line metrics (slot lag, heartbeat) into the TotesysCdc namespace', () => {
    const filters = Object.values(resources).filter((r) => r.Type === 'AWS::Logs::MetricFilter');
    const byName = new Map(filters.map((f) => [f.Properties.MetricTransformations[0].MetricName, f.Properties]));
    for (const name of ['slotLagBytes', 'captureHeartbeat']) {
      const f = byName.get(name);
      expect(f, name).toBeDefined();
      expect(f!.FilterPattern).toBe(`{ ($._aws.CloudWatchMetrics[0].Namespace = "TotesysCdc") && ($.${name} >= 0) }`);
      expect(f!.MetricTransformations[0]).toEqual(
        expect.objectContaining({ MetricNamespace: 'TotesysCdc', MetricValue: `$.${name}`, Dimensions: [{ Key: 'SlotName', Value: '$.SlotName' }] }),
      );
    }
  });
});

describe('Processor', () => {
  it('consumes the stream with partial batch failures, bisection, finite retries and an SQS on-failure destination', () => {
    const esm = one('AWS::Lambda::EventSourceMapping', 'ProcessorHandlerFunction');
    const dlq = one('AWS::SQS::Queue', 'ProcessorDeadLetterQueue');
    expect(esm.Properties).toEqual(
      expect.objectContaining({
        EventSourceArn: arnOf(one('AWS::Kinesis::Stream', 'ChangeStream').id),
        FunctionName: ref(one('AWS::Lambda::Function', 'ProcessorHandlerFunction').id),
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 500,
        // Chosen for latency (issue 12): a batch per second per busy shard at most.
        MaximumBatchingWindowInSeconds: 1,
        ParallelizationFactor: 1,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 604800,
        DestinationConfig: { OnFailure: { Destination: arnOf(dlq.id) } },
      }),
    );
    expect(dlq.Properties.SqsManagedSseEnabled).toBe(true);
    const queuePolicy = Object.values(resources).find((r) => r.Type === 'AWS::SQS::QueuePolicy')!;
    expect(queuePolicy.Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
    );
  });

  it('keeps join state in an on-demand, encrypted DynamoDB table with point-in-time recovery and the state store key schema', () => {
    const table = one('AWS::DynamoDB::Table', 'ProcessorStateTable');
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table.Properties.KeySchema).toEqual(STATE_TABLE_KEY_SCHEMA);
    expect(table.DeletionPolicy).toBe('Retain');
  });

  it('is a bundled Node.js Lambda configured for S3 buckets and the DynamoDB state store', () => {
    const fn = one('AWS::Lambda::Function', 'ProcessorHandlerFunction');
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    expect(fn.Properties.Handler).toBe('index.handler');
    expect(fn.Properties.Environment.Variables).toEqual(
      expect.objectContaining({
        TOTESYS_BUCKETS: 's3',
        TOTESYS_PROCESSED_BUCKET: ref(one('AWS::S3::Bucket', 'BucketsProcessed').id),
        TOTESYS_STATE_STORE: 'dynamodb',
        TOTESYS_DYNAMODB_TABLE: ref(one('AWS::DynamoDB::Table', 'ProcessorStateTable').id),
      }),
    );
    expect(fn.Properties.LoggingConfig).toEqual({ LogGroup: ref(one('AWS::Logs::LogGroup', 'ProcessorHandlerLogs').id) });
  });
});

describe('Loader', () => {
  it('runs every minute, one at a time, inside the VPC with its own security group', () => {
    const fn = one('AWS::Lambda::Function', 'LoaderHandlerFunction');
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([arnOrGroupId(one('AWS::EC2::SecurityGroup', 'LoaderSecurityGroup').id)]);
    expect(fn.Properties.VpcConfig.SubnetIds).toHaveLength(2);
    const rule = one('AWS::Events::Rule', 'LoaderSchedule');
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: arnOf(fn.id), RetryPolicy: { MaximumRetryAttempts: 0 } })]);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: ref(fn.id), MaximumEventAgeInSeconds: 60, MaximumRetryAttempts: 0 });
    expect(fn.Properties.Environment.Variables).toEqual(
      expect.objectContaining({
        TOTESYS_BUCKETS: 's3',
        TOTESYS_PROCESSED_BUCKET: ref(one('AWS::S3::Bucket', 'BucketsProcessed').id),
        TOTESYS_WAREHOUSE_SECRET_ARN: WAREHOUSE_SECRET_ARN,
        TOTESYS_WAREHOUSE_SSLMODE: 'verify-full',
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      }),
    );
  });
});

function arnOrGroupId(id: string) {
  return { 'Fn::GetAtt': [id, 'GroupId'] };
}

describe('Observability', () => {
  const alarms = () => Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');

  it('sends every alarm (and its recovery) to the encrypted SNS topic with the e-mail subscription', () => {
    const topic = one('AWS::SNS::Topic', 'ObservabilityAlarmTopic');
    expect(topic.Properties.KmsMasterKeyId).toEqual(arnOf(one('AWS::KMS::Key', 'ObservabilityTopicKey').id));
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: ref(topic.id) });
    expect(alarms()).toHaveLength(13);
    for (const [id, alarm] of alarms()) {
      expect(alarm.Properties.AlarmActions, id).toEqual([ref(topic.id)]);
      expect(alarm.Properties.OKActions, id).toEqual([ref(topic.id)]);
    }
  });

  it('alarms on slot lag, iterator age, processor errors, DLQ messages, loader failures and a capture that is not running', () => {
    const find = (prefix: string) => one('AWS::CloudWatch::Alarm', `Observability${prefix}`).Properties;
    expect(find('SlotLag')).toEqual(
      expect.objectContaining({ Namespace: 'TotesysCdc', MetricName: 'slotLagBytes', Dimensions: [{ Name: 'SlotName', Value: 'totesys_cdc' }], Threshold: 1024 ** 3 }),
    );
    expect(find('StreamIteratorAge')).toEqual(expect.objectContaining({ Namespace: 'AWS/Kinesis', MetricName: 'GetRecords.IteratorAgeMilliseconds', Threshold: 300_000 }));
    expect(find('ProcessorErrors')).toEqual(
      expect.objectContaining({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: ref(one('AWS::Lambda::Function', 'ProcessorHandlerFunction').id) }] }),
    );
    expect(find('ProcessorDeadLetters')).toEqual(
      expect.objectContaining({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
    );
    expect(find('LoaderFailures')).toEqual(expect.objectContaining({ Namespace: 'TotesysCdc', MetricName: 'loaderFailures', Dimensions: [{ Name: 'service', Value: 'loader' }] }));
    expect(find('LoaderErrors')).toEqual(expect.objectContaining({ Namespace: 'AWS/Lambda', MetricName: 'Errors' }));
    expect(find('CaptureNotRunning')).toEqual(
      expect.objectContaining({ Namespace: 'ECS/ContainerInsights', MetricName: 'RunningTaskCount', ComparisonOperator: 'LessThanThreshold', Threshold: 1, TreatMissingData: 'breaching' }),
    );
    expect(find('CaptureHeartbeatMissing')).toEqual(
      expect.objectContaining({ Namespace: 'TotesysCdc', MetricName: 'captureHeartbeat', Statistic: 'SampleCount', TreatMissingData: 'breaching' }),
    );
    // The watermark: a quiet source keeps it young (heartbeats), a stuck stage ages it, a silent loader is missing data.
    expect(find('WarehouseStale')).toEqual(
      expect.objectContaining({ Namespace: 'TotesysCdc', MetricName: 'warehouseWatermarkAgeMs', Dimensions: [{ Name: 'service', Value: 'loader' }], Threshold: 300_000, TreatMissingData: 'breaching' }),
    );
    // Slot lag has two producers (capture, slot monitor); when both are silent that is a failure.
    expect(find('SlotLag').TreatMissingData).toBe('breaching');
    // A lost slot: the capture's detections and the slot monitor's reading, same metric and dimension.
    expect(find('SlotLost')).toEqual(
      expect.objectContaining({ Namespace: 'TotesysCdc', MetricName: 'slotLost', Dimensions: [{ Name: 'SlotName', Value: 'totesys_cdc' }], Statistic: 'Maximum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' }),
    );
    expect(find('EventsQuarantined')).toEqual(
      expect.objectContaining({ Namespace: 'TotesysCdc', MetricName: 'eventsQuarantined', Dimensions: [{ Name: 'service', Value: 'stream-processor' }], Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
    );
    expect(find('ArchiveDeliveryFailing')).toEqual(
      expect.objectContaining({ Namespace: 'AWS/Firehose', MetricName: 'DeliveryToS3.Success', Statistic: 'Minimum', Threshold: 1, ComparisonOperator: 'LessThanThreshold' }),
    );
    expect(find('ArchiveStale')).toEqual(expect.objectContaining({ Namespace: 'AWS/Firehose', MetricName: 'DeliveryToS3.DataFreshness', Threshold: 900 }));
  });

  it('has a dashboard showing the lag along the pipeline', () => {
    const body = JSON.stringify(one('AWS::CloudWatch::Dashboard', 'ObservabilityDashboard').Properties.DashboardBody);
    for (const metric of [
      'slotLagBytes',
      'GetRecords.IteratorAgeMilliseconds',
      'DeliveryToS3.DataFreshness',
      'DeliveryToS3.Success',
      'warehouseFreshnessMs',
      'warehouseWatermarkAgeMs',
      'Errors',
      'Duration',
      'RunningTaskCount',
      // Every metric the capture publishes, per-function iterator age and Kinesis throttling.
      ...CAPTURE_LOG_METRICS,
      'IteratorAge',
      'WriteProvisionedThroughputExceeded',
      'ReadProvisionedThroughputExceeded',
    ]) {
      expect(body, metric).toContain(metric);
    }
  });
});

describe('least privilege', () => {
  it('no identity policy has wildcard actions, nor Resource "*" beyond the justified allow-list', () => {
    expect(auditIdentityPolicies(template.toJSON() as never)).toEqual([]);
  });

  it('attaches no AWS managed policies (they grant far more than one stage needs)', () => {
    // Except CDK's own provider for the recommended flag @aws-cdk/aws-ec2:restrictDefaultSecurityGroup
    // (it strips the VPC default security group's rules; basic execution role only).
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::IAM::Role' || id.startsWith('CustomVpcRestrictDefaultSGCustomResourceProviderRole')) continue;
      expect(r.Properties.ManagedPolicyArns, id).toBeUndefined();
    }
  });

  it('gives each role exactly the actions its stage uses', () => {
    const t = template.toJSON() as never;
    const role = (prefix: string) => one('AWS::IAM::Role', prefix).id;
    expect(actionsOfRole(t, role('CaptureTaskRole'))).toEqual(['kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:PutRecord', 'kinesis:PutRecords', 'kms:GenerateDataKey']);
    expect(actionsOfRole(t, role('ArchiveRole'))).toEqual([
      'kinesis:DescribeStream',
      'kinesis:DescribeStreamSummary',
      'kinesis:GetRecords',
      'kinesis:GetShardIterator',
      'kinesis:ListShards',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'logs:PutLogEvents',
      's3:AbortMultipartUpload',
      's3:GetBucketLocation',
      's3:GetObject',
      's3:ListBucket',
      's3:ListBucketMultipartUploads',
      's3:PutObject',
    ]);
    const processor = actionsOfRole(t, role('ProcessorHandlerRole'));
    expect(processor).toEqual(expect.arrayContaining(['kinesis:GetRecords', 's3:PutObject', 'dynamodb:GetItem', 'dynamodb:PutItem', 'sqs:SendMessage']));
    expect(processor.filter((a) => /Delete|Scan|^secretsmanager:|^ec2:/.test(a))).toEqual([]);
    const loader = actionsOfRole(t, role('LoaderHandlerRole'));
    expect(loader.filter((a) => !a.startsWith('ec2:'))).toEqual([
      'kms:Decrypt',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:GetObject',
      's3:ListBucket',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
  });

  it('scopes secrets: the loader reads only the warehouse secret, the capture task only the source secret', () => {
    const t = template.toJSON() as never;
    const secretResources = (prefix: string) =>
      identityStatements(t)
        .filter((st) => st.policy.startsWith(prefix) && st.actions.some((a) => a.startsWith('secretsmanager:')))
        .flatMap((st) => st.resources);
    expect(secretResources('LoaderHandlerRole')).toEqual([`${WAREHOUSE_SECRET_ARN}-??????`]);
    expect(secretResources('CaptureTaskDefinitionExecutionRole')).toEqual([SOURCE_SECRET_ARN]);
    expect(secretResources('CaptureTaskRole')).toEqual([]);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks().validateScope(stack as Stack);
    const findings = report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
  });

  it('every acknowledgement carries a reason', () => {
    const acknowledged: Array<[string, string, unknown]> = [];
    for (const c of stack.node.findAll()) {
      for (const entry of c.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>)) acknowledged.push([c.node.path, id, reason]);
      }
    }
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [where, id, reason] of acknowledged) expect(typeof reason === 'string' && reason.length >= 20, `${where} ${id}`).toBe(true);
  });
});

describe('outputs', () => {
  it('exports what operators and the CLI need', () => {
    const outputs = Object.keys(template.toJSON().Outputs ?? {});
    expect(outputs).toEqual(
      expect.arrayContaining(['KinesisStreamName', 'IngestionBucketName', 'ProcessedBucketName', 'StateTableName', 'CaptureSecurityGroupId', 'LoaderSecurityGroupId', 'AlarmTopicArn']),
    );
    template.hasOutput('KinesisStreamName', { Value: Match.objectLike({ Ref: one('AWS::Kinesis::Stream', 'ChangeStream').id }) });
  });
});

/** Resolves the Fn::Join of a CfnOutput value into text with `${LogicalId}` for references. */
function outputText(name: string): string {
  const value = (template.toJSON().Outputs as Record<string, { Value: unknown }>)[name]!.Value;
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      const o = v as Record<string, any>;
      if ('Fn::Join' in o) return (o['Fn::Join'][1] as unknown[]).map(render).join(o['Fn::Join'][0]);
      if ('Ref' in o) return `\${${o.Ref}}`;
      if ('Fn::GetAtt' in o) return `\${${o['Fn::GetAtt'].join('.')}}`;
    }
    throw new Error(`cannot render ${JSON.stringify(v)}`);
  };
  return render(value);
}

describe('Loader draining (issue 12)', () => {
  it('drains for the schedule period minus 2 s, with a timeout covering the window and a last load', () => {
    const fn = one('AWS::Lambda::Function', 'LoaderHandlerFunction');
    expect(fn.Properties.Environment.Variables.TOTESYS_LOADER_DRAIN_WINDOW_MS).toBe('58000');
    expect(fn.Properties.Timeout).toBe(298);
    expect(fn.Properties.Timeout).toBeGreaterThan(58);
  });
});

describe('Network egress (issue 17 item 12)', () => {
  const egressOf = (prefix: string) => one('AWS::EC2::SecurityGroup', prefix).Properties.SecurityGroupEgress;
  const standaloneEgress = (prefix: string) => {
    const id = one('AWS::EC2::SecurityGroup', prefix).id;
    return Object.values(resources)
      .filter((r) => r.Type === 'AWS::EC2::SecurityGroupEgress' && JSON.stringify(r.Properties.GroupId) === JSON.stringify({ 'Fn::GetAtt': [id, 'GroupId'] }))
      .map((r) => r.Properties);
  };

  it('every security group of the stack allows only 5432 to the databases and 443 to AWS APIs, nothing else', () => {
    for (const prefix of ['CaptureSecurityGroup', 'LoaderSecurityGroup', 'SlotMonitorSecurityGroup', 'OperationsSecurityGroup']) {
      const rules = [...(egressOf(prefix) ?? []), ...standaloneEgress(prefix)];
      const ports = rules.map((r: { IpProtocol: string; FromPort: number; ToPort: number; CidrIp?: string }) => `${r.IpProtocol}:${r.FromPort}-${r.ToPort}`).sort();
      // Without the databases' security groups (this stack), 5432 goes to any address; with them,
      // to those groups only (stage-constructs.test.ts).
      expect(ports, prefix).toEqual(['tcp:443-443', 'tcp:5432-5432']);
      expect(JSON.stringify(rules), prefix).not.toMatch(/"IpProtocol":"-1"/);
    }
  });

  it('grants CloudWatch the alarm topic key only for alarms of this account', () => {
    const key = one('AWS::KMS::Key', 'ObservabilityTopicKey');
    const grant = key.Properties.KeyPolicy.Statement.find((st: { Sid?: string }) => st.Sid === 'AllowCloudWatchAlarms');
    expect(grant.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']] } },
    });
  });

  it('adds free S3 and DynamoDB gateway endpoints to the new VPC (interface endpoints are opt-in)', () => {
    const endpoints = Object.values(resources).filter((r) => r.Type === 'AWS::EC2::VPCEndpoint');
    expect(endpoints.map((e) => e.Properties.VpcEndpointType ?? 'Gateway').sort()).toEqual(['Gateway', 'Gateway']);
    expect(JSON.stringify(endpoints.map((e) => e.Properties.ServiceName))).toMatch(/s3.*dynamodb|dynamodb.*s3/);
  });
});

describe('Capture image platform', () => {
  it('builds the image for the task architecture (X86_64 by default)', () => {
    const task = one('AWS::ECS::TaskDefinition', 'CaptureTaskDefinition');
    expect(task.Properties.RuntimePlatform).toEqual({ CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' });
    const assets = JSON.parse(fs.readFileSync(path.join(outdir, 'TotesysCdc.assets.json'), 'utf8')) as { dockerImages: Record<string, { source: { platform?: string; dockerFile?: string } }> };
    const images = Object.values(assets.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]!.source).toEqual(expect.objectContaining({ platform: 'linux/amd64', dockerFile: 'capture/Dockerfile' }));
    // The operations task runs the same image on the same architecture.
    expect(one('AWS::ECS::TaskDefinition', 'OperationsTaskDefinition').Properties.RuntimePlatform).toEqual(task.Properties.RuntimePlatform);
    expect(one('AWS::ECS::TaskDefinition', 'OperationsTaskDefinition').Properties.ContainerDefinitions[0].Image).toEqual(task.Properties.ContainerDefinitions[0].Image);
  });
});

describe('Operations tasks (issue 13 item 6)', () => {
  it('run the CLI bundle of the capture image with both databases as ECS secrets and output in CloudWatch Logs', () => {
    const task = one('AWS::ECS::TaskDefinition', 'OperationsTaskDefinition');
    const [container] = task.Properties.ContainerDefinitions;
    expect(container.Name).toBe('cli');
    expect(container.Command).toEqual(['cli.mjs', '--help']);
    expect(container.LogConfiguration.Options['awslogs-group']).toEqual(ref(one('AWS::Logs::LogGroup', 'OperationsLogs').id));
    expect(container.Secrets.map((s: { Name: string }) => s.Name)).toEqual([
      'TOTESYS_SOURCE_HOST',
      'TOTESYS_SOURCE_PORT',
      'TOTESYS_SOURCE_DB',
      'TOTESYS_SOURCE_USER',
      'TOTESYS_SOURCE_PASSWORD',
      'TOTESYS_WAREHOUSE_HOST',
      'TOTESYS_WAREHOUSE_PORT',
      'TOTESYS_WAREHOUSE_DB',
      'TOTESYS_WAREHOUSE_USER',
      'TOTESYS_WAREHOUSE_PASSWORD',
    ]);
    expect(JSON.stringify(container.Environment)).not.toMatch(/password/i);
    expect(task.Properties.EphemeralStorage).toEqual({ SizeInGiB: 50 });
    const env = Object.fromEntries(container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
    expect(env).toEqual(
      expect.objectContaining({
        TOTESYS_PROCESSOR_DLQ_URL: ref(one('AWS::SQS::Queue', 'ProcessorDeadLetterQueue').id),
        TOTESYS_PROCESSOR_FUNCTION_NAME: ref(one('AWS::Lambda::Function', 'ProcessorHandlerFunction').id),
        TOTESYS_STREAM: 'kinesis',
        TOTESYS_BUCKETS: 's3',
        TOTESYS_STATE_STORE: 'dynamodb',
      }),
    );
  });

  it('print a ready aws ecs run-task line per command: cluster, task definition, private subnets, security group, command override', () => {
    const cluster = one('AWS::ECS::Cluster', 'CaptureCluster').id;
    const taskDef = one('AWS::ECS::TaskDefinition', 'OperationsTaskDefinition');
    const sg = one('AWS::EC2::SecurityGroup', 'OperationsSecurityGroup').id;
    const privateSubnets = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::EC2::Subnet' && r.Properties.MapPublicIpOnLaunch === false).map(([id]) => `\${${id}}`);
    for (const [name, args] of Object.entries({ RunStatusCommand: ['status'], RunDoctorCommand: ['doctor'], RunRedriveDlqCommand: ['redrive-dlq'], RunReplayRebuildCommand: ['replay', '--rebuild'], RunTeardownCommand: ['teardown', '--yes'] })) {
      const line = outputText(name);
      expect(line, name).toBe(
        `aws ecs run-task --cluster \${${cluster}} --task-definition ${taskDef.Properties.Family} --launch-type FARGATE ` +
          `--network-configuration 'awsvpcConfiguration={subnets=[${privateSubnets.join(',')}],securityGroups=[\${${sg}.GroupId}],assignPublicIp=DISABLED}' ` +
          `--overrides '${JSON.stringify({ containerOverrides: [{ name: 'cli', command: ['cli.mjs', ...args] }] })}'`,
      );
    }
    expect(Object.keys(template.toJSON().Outputs)).toEqual(expect.arrayContaining(['OperationsLogGroupName']));
  });

  it('can read the archive, write processed objects and join state, redrive the DLQ, but delete nothing', () => {
    const t = template.toJSON() as never;
    const actions = actionsOfRole(t, one('AWS::IAM::Role', 'OperationsTaskRole').id);
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject', 's3:PutObject', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'dynamodb:PutItem', 'cloudwatch:GetMetricData', 'kinesis:GetRecords']));
    expect(actions.filter((a) => /^s3:Delete|^dynamodb:Delete|Scan|^secretsmanager:|^iam:/.test(a))).toEqual([]);
  });
});

describe('Slot monitor (database-side slot lag)', () => {
  it('is a VPC Lambda scheduled every minute that reads only the source secret', () => {
    const fn = one('AWS::Lambda::Function', 'SlotMonitorHandlerFunction');
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([arnOrGroupId(one('AWS::EC2::SecurityGroup', 'SlotMonitorSecurityGroup').id)]);
    expect(fn.Properties.Environment.Variables).toEqual(
      expect.objectContaining({ TOTESYS_SOURCE_SECRET_ARN: SOURCE_SECRET_ARN, TOTESYS_SLOT_NAME: 'totesys_cdc', PGSSLMODE: 'verify-full', NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' }),
    );
    expect(one('AWS::Events::Rule', 'SlotMonitorSchedule').Properties.ScheduleExpression).toBe('rate(1 minute)');
    const secrets = identityStatements(template.toJSON() as never)
      .filter((st) => st.policy.startsWith('SlotMonitorHandlerRole') && st.actions.some((a) => a.startsWith('secretsmanager:')))
      .flatMap((st) => st.resources);
    expect(secrets).toEqual([SOURCE_SECRET_ARN]);
  });

  it('sets only variables its config declares, and the config reads the secret, slot and publication back from them', () => {
    const variables = one('AWS::Lambda::Function', 'SlotMonitorHandlerFunction').Properties.Environment.Variables as Record<string, unknown>;
    const declared = new Set(SETTINGS.map((setting) => setting.env));
    expect(Object.keys(variables).filter((name) => name.startsWith('TOTESYS_') && !declared.has(name))).toEqual([]);
    // Tokens (an endpoint resolved at deploy time) are not text yet; the rest is what the Lambda reads.
    const config = loadConfig({}, Object.fromEntries(Object.entries(variables).filter(([, value]) => typeof value === 'string')) as Record<string, string>);
    expect(config.databaseFields.source.secretArn).toBe(SOURCE_SECRET_ARN);
    expect(config.capture).toMatchObject({ slotName: 'totesys_cdc', publicationName: 'totesys_cdc' });
  });
});

describe('Query catalog (Athena over the processed Parquet)', () => {
  it('has one Glue table per warehouse table with the model columns and date partition projection', () => {
    const db = one('AWS::Glue::Database', 'QueryCatalogDatabase');
    expect(db.Properties.DatabaseInput.Name).toBe('totesyscdc_processed');
    const tables = Object.values(resources).filter((r) => r.Type === 'AWS::Glue::Table');
    expect(tables.map((t) => t.Properties.TableInput.Name).sort()).toEqual([...WAREHOUSE_TABLES].sort());
    for (const t of tables) {
      const input = t.Properties.TableInput;
      const spec = WAREHOUSE_MODEL[input.Name as WarehouseTable];
      expect(input.StorageDescriptor.Columns.map((c: { Name: string }) => c.Name), input.Name).toEqual(spec.columns.map((c) => c.name));
      expect(input.PartitionKeys).toEqual([expect.objectContaining({ Name: 'date', Type: 'string' })]);
      expect(input.Parameters).toEqual(expect.objectContaining({ 'projection.enabled': 'true', 'projection.date.type': 'date', 'projection.date.format': 'yyyy-MM-dd', classification: 'parquet' }));
      expect(JSON.stringify(input.Parameters['storage.location.template'])).toContain(`/${input.Name}/date=\${date}/`);
      expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    }
    const sales = tables.find((t) => t.Properties.TableInput.Name === 'fact_sales_order')!.Properties.TableInput.StorageDescriptor.Columns;
    expect(sales).toEqual(expect.arrayContaining([{ Name: 'source_lsn', Type: 'bigint' }, { Name: 'commit_ts', Type: 'timestamp' }]));
  });
});

describe('cdk.json', () => {
  it('carries every recommended feature flag of the installed aws-cdk-lib, at its recommended value', () => {
    const recommended = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', 'aws-cdk-lib', 'recommended-feature-flags.json'), 'utf8')) as Record<string, unknown>;
    const context = cdkJsonContext();
    expect(Object.keys(recommended).length).toBeGreaterThan(80);
    for (const [flag, value] of Object.entries(recommended)) expect(context[flag], flag).toEqual(value);
  });
});
