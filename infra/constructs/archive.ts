import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { firehoseArchiveDestinationSettings } from '../../archive/firehose-settings.js';
import { acknowledge } from './acknowledge.js';

export interface ArchiveProps {
  readonly stream: kinesis.IStream;
  /** Key of the stream's server-side encryption (Firehose decrypts what it reads). */
  readonly streamKey: kms.IKey;
  readonly ingestionBucket: s3.IBucket;
  /** Key of the ingestion bucket (Firehose encrypts what it writes). */
  readonly bucketKey: kms.IKey;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Firehose from the change stream to the ingestion bucket, GZIP NDJSON partitioned by table and
 * arrival hour (the layout lives in archive/firehose-settings.ts, shared with the local archiver
 * and replay). Its role can read this stream and add objects to this bucket, nothing else: no
 * delete, so even a compromised delivery stream cannot erase the archive.
 */
export class Archive extends Construct {
  readonly deliveryStream: firehose.CfnDeliveryStream;
  readonly deliveryStreamName: string;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: ArchiveProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const logStream = new logs.LogStream(this, 'S3DeliveryLogs', { logGroup: this.logGroup, logStreamName: 'S3Delivery' });

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', { conditions: { StringEquals: { 'sts:ExternalId': Aws.ACCOUNT_ID } } }),
      description: 'totesys-cdc archive: read the change stream, add objects to the ingestion bucket',
    });
    this.role = role;
    const policy = new iam.Policy(this, 'RolePolicy', {
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadChangeStream',
          actions: ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'],
          resources: [props.stream.streamArn],
        }),
        new iam.PolicyStatement({
          sid: 'DecryptChangeStream',
          actions: ['kms:Decrypt'],
          resources: [props.streamKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `kinesis.${Aws.REGION}.amazonaws.com` } },
        }),
        new iam.PolicyStatement({
          sid: 'ListIngestionBucket',
          actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
          resources: [props.ingestionBucket.bucketArn],
        }),
        new iam.PolicyStatement({
          sid: 'WriteIngestionObjects',
          // GetObject: Firehose checks for an object before completing a multipart upload.
          actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
          resources: [props.ingestionBucket.arnForObjects('changes/*'), props.ingestionBucket.arnForObjects('errors/*')],
        }),
        new iam.PolicyStatement({
          sid: 'EncryptIngestionObjects',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [props.bucketKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
        }),
        new iam.PolicyStatement({
          sid: 'WriteDeliveryErrors',
          actions: ['logs:PutLogEvents'],
          resources: [`arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:${this.logGroup.logGroupName}:log-stream:${logStream.logStreamName}`],
        }),
      ],
    });
    role.attachInlinePolicy(policy);
    // Object-level ARNs under the two archive prefixes (changes/*, errors/*) are the narrowest S3
    // allows: Firehose picks the object names.
    acknowledge(policy, `AwsSolutions-IAM5[Resource::<${logicalIdHint(props.ingestionBucket)}.Arn>/changes/*]`, 'Firehose names the objects it writes; access is limited to the changes/ prefix of this one bucket.');
    acknowledge(policy, `AwsSolutions-IAM5[Resource::<${logicalIdHint(props.ingestionBucket)}.Arn>/errors/*]`, 'Firehose names its error objects; access is limited to the errors/ prefix of this one bucket.');

    const layout = firehoseArchiveDestinationSettings();
    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'DeliveryStream', {
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: { kinesisStreamArn: props.stream.streamArn, roleArn: role.roleArn },
      extendedS3DestinationConfiguration: {
        bucketArn: props.ingestionBucket.bucketArn,
        roleArn: role.roleArn,
        ...layout,
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: props.bucketKey.keyArn } },
        cloudWatchLoggingOptions: { enabled: true, logGroupName: this.logGroup.logGroupName, logStreamName: logStream.logStreamName },
      },
    });
    // Firehose validates its role's permissions at creation: the policy must exist first.
    this.deliveryStream.node.addDependency(policy);
    this.deliveryStreamName = this.deliveryStream.ref;
    acknowledge(
      this.deliveryStream,
      'AwsSolutions-KDF1',
      'A delivery stream whose source is a Kinesis stream cannot use DeliveryStreamEncryption: data is encrypted at rest by the source stream (KMS CMK) and by the destination bucket (KMS CMK).',
    );
  }
}

/** The logical id cdk-nag prints for a bucket declared in this stack (its CfnBucket). */
function logicalIdHint(bucket: s3.IBucket): string {
  const child = bucket.node.defaultChild as { logicalId?: string } | undefined;
  return child?.logicalId ? bucket.stack.resolve(child.logicalId) : bucket.node.id;
}
