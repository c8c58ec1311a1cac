import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.js';

export interface BucketsProps {
  /** Customer-managed key for the ingestion and processed buckets (server access logs use SSE-S3: S3 log delivery cannot write SSE-KMS). */
  readonly encryptionKey: kms.IKey;
  /**
   * Object Lock default retention (governance mode) of the raw change archive. The archive is the
   * replay source, so nothing may delete or rewrite it; governance mode still lets an account
   * administrator with s3:BypassGovernanceRetention remove data deliberately.
   * @default Duration.days(365)
   */
  readonly ingestionRetention?: Duration;
  /**
   * Days after which superseded versions of processed objects are removed.
   * @default Duration.days(30)
   */
  readonly processedNoncurrentVersionExpiration?: Duration;
  /** @default RemovalPolicy.RETAIN: data outlives `cdk destroy`. */
  readonly removalPolicy?: RemovalPolicy;
}

/** The ingestion bucket (raw change archive, immutable), the processed bucket (Parquet + manifests) and their access-log bucket. */
export class Buckets extends Construct {
  readonly ingestion: s3.IBucket;
  readonly processed: s3.IBucket;
  readonly accessLogs: s3.IBucket;

  constructor(scope: Construct, id: string, props: BucketsProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy,
    });
    acknowledge(accessLogs, 'AwsSolutions-S1', 'This is the server access log bucket itself; logging it into itself would loop.');
    this.accessLogs = accessLogs;

    // The data buckets' shared baseline: KMS, no public access, TLS only, versioned, access-logged.
    const dataBucket = (logPrefix: string): s3.BucketProps => ({
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: logPrefix,
      removalPolicy,
    });

    const ingestion = new s3.Bucket(this, 'Ingestion', {
      ...dataBucket('ingestion/'),
      // Object Lock requires versioning (in the baseline) and can only be switched on at creation.
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.governance(props.ingestionRetention ?? Duration.days(365)),
      lifecycleRules: [{ id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    // Object Lock keeps versions but a plain DELETE would still add a delete marker that hides
    // archived changes from replay: nobody may delete anything here.
    ingestion.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyDeletingArchivedChanges',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        resources: [ingestion.arnForObjects('*')],
      }),
    );
    this.ingestion = ingestion;

    this.processed = new s3.Bucket(this, 'Processed', {
      ...dataBucket('processed/'),
      lifecycleRules: [
        {
          id: 'expire-superseded-versions',
          noncurrentVersionExpiration: props.processedNoncurrentVersionExpiration ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }
}
