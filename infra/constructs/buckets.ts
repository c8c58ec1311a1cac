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
   * replay source: during retention nobody can delete or overwrite an archived version, except the
   * `archiveAdminRole` with s3:BypassGovernanceRetention (docs/deploy.md, "Removing a mistaken
   * archive object"). After it, the bucket policy still denies deletes to everyone but that role.
   * @default Duration.days(365)
   */
  readonly ingestionRetention?: Duration;
  /**
   * The only principal allowed to delete archived versions (with governance bypass while they are
   * locked). Everyone else, account administrators included, is denied by the bucket policy.
   * @default none: nobody can delete from the archive (grant a role by redeploying with one)
   */
  readonly archiveAdminRoleArn?: string;
  /**
   * Move archived objects to a colder storage class after this age. Objects under 128 KiB stay
   * in S3 Standard (S3 does not transition them: the minimum billable size would cost more).
   * Replay reads the whole archive, so choose a class with millisecond access.
   * @default { after: Duration.days(30), storageClass: s3.StorageClass.INFREQUENT_ACCESS }
   */
  readonly ingestionTransition?: { after: Duration; storageClass: s3.StorageClass } | 'none';
  /**
   * Delete archived objects after this age. The archive is the system of record (replay rebuilds
   * everything from it), so nothing expires unless you say so; it must exceed the Object Lock
   * retention.
   * @default none
   */
  readonly ingestionExpiration?: Duration;
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

    const transition = props.ingestionTransition ?? { after: Duration.days(30), storageClass: s3.StorageClass.INFREQUENT_ACCESS };
    const retention = props.ingestionRetention ?? Duration.days(365);
    if (props.ingestionExpiration && props.ingestionExpiration.toDays() <= retention.toDays()) {
      throw new Error(`Buckets: ingestionExpiration (${props.ingestionExpiration.toDays()} days) must exceed the Object Lock retention (${retention.toDays()} days)`);
    }
    const ingestion = new s3.Bucket(this, 'Ingestion', {
      ...dataBucket('ingestion/'),
      // Object Lock requires versioning (in the baseline) and can only be switched on at creation.
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.governance(retention),
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        ...(transition === 'none' ? [] : [{ id: 'archive-to-colder-storage', transitions: [{ storageClass: transition.storageClass, transitionAfter: transition.after }] }]),
        ...(props.ingestionExpiration ? [{ id: 'expire-archive', expiration: props.ingestionExpiration, noncurrentVersionExpiration: Duration.days(1) }] : []),
      ],
    });
    // Object Lock protects each version, but a plain DELETE would still add a delete marker that
    // hides archived changes from replay, and governance retention can be bypassed: the policy
    // denies both to everyone except the archive admin role (when one is named).
    const exceptAdmin = props.archiveAdminRoleArn ? { conditions: { ArnNotEquals: { 'aws:PrincipalArn': props.archiveAdminRoleArn } } } : {};
    ingestion.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyDeletingArchivedChanges',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:BypassGovernanceRetention', 's3:PutObjectRetention'],
        resources: [ingestion.arnForObjects('*')],
        ...exceptAdmin,
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
