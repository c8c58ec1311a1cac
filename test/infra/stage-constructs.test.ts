import fs from 'node:fs';
import path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { Buckets } from '../../infra/constructs/buckets.js';
import { Capture } from '../../infra/constructs/capture.js';
import { ChangeStream } from '../../infra/constructs/change-stream.js';
import { Loader } from '../../infra/constructs/loader.js';
import { Network } from '../../infra/constructs/network.js';
import { Observability } from '../../infra/constructs/observability.js';
import { importedObservabilityProps, useUnvalidatedApps } from '../support/cdk-test-apps.js';

// Construct options that the full-stack test (defaults only) does not reach. No bundling, and no
// CloudFormation schema validation (the full-stack test runs it).
const newApp = useUnvalidatedApps();

const newStack = () => new Stack(newApp(), 'T', { env: { account: '123456789012', region: 'eu-west-2' } });

describe('ChangeStream options', () => {
  it('supports provisioned capacity and a custom retention', () => {
    const stack = newStack();
    new ChangeStream(stack, 'CS', { encryptionKey: new kms.Key(stack, 'K'), capacity: { mode: 'provisioned', shardCount: 3 }, retention: Duration.hours(48) });
    Template.fromStack(stack).hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: 3,
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      RetentionPeriodHours: 48,
    });
  });

  it('rejects a shard count that is not a positive integer', () => {
    const stack = newStack();
    expect(() => new ChangeStream(stack, 'CS', { encryptionKey: new kms.Key(stack, 'K'), capacity: { mode: 'provisioned', shardCount: 0 } })).toThrow(/shardCount/);
  });
});

describe('Observability options', () => {
  const props = importedObservabilityProps;

  it('takes thresholds and metric dimensions, and subscribes nobody without an e-mail', () => {
    const stack = newStack();
    new Observability(stack, 'O', { ...props(stack), thresholds: { slotLagBytes: 5_000_000, iteratorAge: Duration.minutes(1) }, slotName: 'cdc_slot' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'slotLagBytes', Threshold: 5_000_000, Dimensions: [{ Name: 'SlotName', Value: 'cdc_slot' }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'GetRecords.IteratorAgeMilliseconds', Threshold: 60_000 });
  });

  it('can leave the alarms out (dashboard and topic stay)', () => {
    const stack = newStack();
    new Observability(stack, 'O', { ...props(stack), alarms: false });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::SNS::Topic', 1);
  });
});

describe('Capture with the source as RDS users have it', () => {
  const build = (architecture?: ecs.CpuArchitecture) => {
    const app = newApp();
    const stack = new Stack(app, 'T', { env: { account: '123456789012', region: 'eu-west-2' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const key = new kms.Key(stack, 'K');
    const sourceGroup = ec2.SecurityGroup.fromSecurityGroupId(stack, 'SourceSg', 'sg-0123456789abcdef0');
    const capture = new Capture(stack, 'Capture', {
      vpc,
      stream: new kinesis.Stream(stack, 'S', { encryption: kinesis.StreamEncryption.KMS, encryptionKey: key }),
      streamKey: key,
      source: {
        // An RDS-managed master secret: username and password only.
        secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Secret', 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:rds!db-1234-AbCdEf'),
        endpoint: { host: 'totesys.abc.eu-west-2.rds.amazonaws.com', port: 5433, database: 'totesys' },
        secretKey: kms.Key.fromKeyArn(stack, 'SecretKey', 'arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
        securityGroup: sourceGroup,
      },
      architecture,
    });
    return { app, stack, capture, template: Template.fromStack(stack) };
  };

  it('takes username and password from the secret, host, port and database from props', () => {
    const { template } = build();
    const task = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0]!;
    const [container] = task.Properties.ContainerDefinitions;
    const arn = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:rds!db-1234-AbCdEf';
    expect(container.Secrets).toEqual([
      { Name: 'TOTESYS_SOURCE_USER', ValueFrom: `${arn}:username::` },
      { Name: 'TOTESYS_SOURCE_PASSWORD', ValueFrom: `${arn}:password::` },
    ]);
    expect(container.Environment).toEqual(
      expect.arrayContaining([
        { Name: 'TOTESYS_SOURCE_HOST', Value: 'totesys.abc.eu-west-2.rds.amazonaws.com' },
        { Name: 'TOTESYS_SOURCE_PORT', Value: '5433' },
        { Name: 'TOTESYS_SOURCE_DB', Value: 'totesys' },
      ]),
    );
  });

  it('lets the execution role decrypt the secret with its customer-managed key, through Secrets Manager only', () => {
    const { template } = build();
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Sid: 'DecryptSourceSecret',
          Action: 'kms:Decrypt',
          Resource: 'arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
        }),
      ]),
    );
  });

  it('adds ingress on the database security group from the capture, and egress to that group only on the database port', () => {
    const { template } = build();
    const captureSg = Object.keys(template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('capture') } }))[0]!;
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: 'sg-0123456789abcdef0',
      IpProtocol: 'tcp',
      FromPort: 5433,
      ToPort: 5433,
      SourceSecurityGroupId: { 'Fn::GetAtt': [captureSg, 'GroupId'] },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [captureSg, 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 5433,
      ToPort: 5433,
      DestinationSecurityGroupId: 'sg-0123456789abcdef0',
    });
    const sg = template.findResources('AWS::EC2::SecurityGroup')[captureSg]!;
    expect(sg.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 })]);
  });

  it('runs on ARM64 (Graviton) with the image built for linux/arm64', () => {
    const { app, template } = build(ecs.CpuArchitecture.ARM64);
    const task = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0]!;
    expect(task.Properties.RuntimePlatform).toEqual({ CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
    const assembly = app.synth();
    const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'T.assets.json'), 'utf8')) as { dockerImages: Record<string, { source: { platform?: string } }> };
    expect(Object.values(assets.dockerImages).map((i) => i.source.platform)).toEqual(['linux/arm64']);
  });
});

describe('Buckets options', () => {
  // As TotesysCdcStack sets it: access logs delivered under a bucket policy.
  const newStack = () => {
    const stack = new Stack(newApp(), 'T', { env: { account: '123456789012', region: 'eu-west-2' } });
    stack.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    return stack;
  };
  it('exempts only the archive admin role from the deny-delete policy', () => {
    const stack = newStack();
    new Buckets(stack, 'B', { encryptionKey: new kms.Key(stack, 'K'), archiveAdminRoleArn: 'arn:aws:iam::123456789012:role/ArchiveAdmin' });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const deny = statements.find((st: { Sid?: string }) => st.Sid === 'DenyDeletingArchivedChanges');
    expect(deny.Condition).toEqual({ ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/ArchiveAdmin' } });
  });

  it('takes a storage class and age for the archive, or none, and refuses an expiry inside the lock', () => {
    const stack = newStack();
    new Buckets(stack, 'B', { encryptionKey: new kms.Key(stack, 'K'), ingestionTransition: { after: Duration.days(90), storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL }, ingestionExpiration: Duration.days(3650) });
    const ingestion = Object.entries(Template.fromStack(stack).findResources('AWS::S3::Bucket')).find(([id]) => id.startsWith('BIngestion'))![1];
    expect(ingestion.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }] }),
        expect.objectContaining({ Id: 'expire-archive', ExpirationInDays: 3650 }),
      ]),
    );
    const other = newStack();
    expect(() => new Buckets(other, 'B', { encryptionKey: new kms.Key(other, 'K'), ingestionExpiration: Duration.days(30) })).toThrow(/must exceed the Object Lock retention/);
    const none = newStack();
    new Buckets(none, 'B', { encryptionKey: new kms.Key(none, 'K'), ingestionTransition: 'none' });
    expect(JSON.stringify(Template.fromStack(none).toJSON())).not.toMatch(/Transitions/);
  });
});

describe('Network endpoints', () => {
  it("'all' adds Kinesis, Secrets Manager and CloudWatch Logs interface endpoints with private DNS", () => {
    const stack = newStack();
    new Network(stack, 'N', { endpoints: 'all' });
    const endpoints = Object.values(Template.fromStack(stack).findResources('AWS::EC2::VPCEndpoint'));
    const interfaces = endpoints.filter((e) => e.Properties.VpcEndpointType === 'Interface');
    expect(interfaces.map((e) => JSON.stringify(e.Properties.ServiceName).match(/\.(kinesis-streams|secretsmanager|logs)"/)?.[1]).sort()).toEqual(['kinesis-streams', 'logs', 'secretsmanager']);
    for (const e of interfaces) expect(e.Properties.PrivateDnsEnabled).toBe(true);
    expect(endpoints).toHaveLength(5);
  });

  it("'none' adds nothing", () => {
    const stack = newStack();
    new Network(stack, 'N', { endpoints: 'none' });
    Template.fromStack(stack).resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });
});

describe('Loader drain window', () => {
  it('refuses a drain window that would overlap the next tick, and a schedule under a minute', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const key = new kms.Key(stack, 'K');
    const base = {
      vpc,
      processedBucket: s3.Bucket.fromBucketName(stack, 'P', 'processed'),
      processedBucketKey: key,
      warehouse: { secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'W', 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:wh-AbCdEf') },
    };
    expect(() => new Loader(stack, 'L1', { ...base, drainWindow: Duration.seconds(60) })).toThrow(/must end before the next tick/);
    expect(() => new Loader(stack, 'L2', { ...base, schedulePeriod: Duration.seconds(30) })).toThrow(/at least 1 minute/);
    expect(() => new Loader(stack, 'L3', { ...base, drainWindow: Duration.seconds(50), timeout: Duration.seconds(40) })).toThrow(/timeout must be longer than drainWindow/);
  });
});
