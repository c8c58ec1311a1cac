/**
 * The Amazon Data Firehose settings that make Firehose write the same archive layout as the local
 * archiver (archive-layout.ts). The CDK stack imports these constants so the two can never drift:
 * a key written by either one is readable by `replay`.
 *
 * Shapes follow the CloudFormation `AWS::KinesisFirehose::DeliveryStream`
 * `ExtendedS3DestinationConfiguration` properties (camelCase, as `CfnDeliveryStream` takes them), so
 * they can be passed straight through; this file deliberately does not import aws-cdk-lib.
 *
 * Layout produced (UTC):
 *   changes/table=<table>/date=YYYY-MM-DD/hour=HH/<name>.json.gz   GZIP, one change event per line
 *   changes/table=_watermark/date=YYYY-MM-DD/hour=HH/<name>.json.gz  the capture's watermark records
 *   errors/<error-output-type>/date=YYYY-MM-DD/<name>.json.gz      records Firehose could not partition
 *
 * `!{timestamp:…}` is the approximate ARRIVAL time at the stream (Firehose uses the oldest record of
 * the object), not the commit time: replay never relies on file order, it orders by event version.
 */

/** Top-level prefix of archived change events (shared with the local archiver). */
export const ARCHIVE_CHANGES_PREFIX = 'changes/';
/** Top-level prefix of records that could not be archived as change events. */
export const ARCHIVE_ERRORS_PREFIX = 'errors/';

/**
 * Partition of the capture's watermark records (contracts/watermark.ts): stream records without a
 * table, kept in the archive (it holds every raw stream record) but out of every table's partitions,
 * so replay, which lists table by table, never reads them, and errors/ holds only real errors.
 */
export const WATERMARK_ARCHIVE_PARTITION = '_watermark';

/** JQ 1.6 query of the MetadataExtraction processor: the partition key is the event's table. */
export const FIREHOSE_PARTITION_QUERY = `{table: (if .kind == "watermark" then "${WATERMARK_ARCHIVE_PARTITION}" else .table end)}`;
export const FIREHOSE_JSON_PARSING_ENGINE = 'JQ-1.6';

/** S3 prefix with dynamic partitioning (the local archiver renders the same template). */
export const FIREHOSE_S3_PREFIX =
  'changes/table=!{partitionKeyFromQuery:table}/date=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/';
/** Required with dynamic partitioning; records whose `.table` cannot be extracted land here. */
export const FIREHOSE_ERROR_OUTPUT_PREFIX = 'errors/!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/';

export const FIREHOSE_COMPRESSION_FORMAT = 'GZIP';
/** Object suffix, so `aws s3 cp` + `zcat` and Athena recognise the objects. */
export const FIREHOSE_FILE_EXTENSION = '.json.gz';

/** Buffering: 60 s is the minimum Firehose allows with dynamic partitioning; 64 MiB is its minimum size too. */
export const FIREHOSE_BUFFERING_INTERVAL_SECONDS = 60;
export const FIREHOSE_BUFFERING_SIZE_MIB = 64;
/** How long Firehose retries delivering a partition before sending it to the error prefix. */
export const FIREHOSE_DYNAMIC_PARTITIONING_RETRY_SECONDS = 300;

/**
 * Newline delimiter: Firehose concatenates records without delimiters by default. The capture
 * writes one event per stream record without a trailing newline, so AppendDelimiterToRecord
 * produces exactly "<record bytes>\n" per event: NDJSON.
 */
export const FIREHOSE_RECORD_DELIMITER = '\\n';

/** Firehose processor parameter, as CloudFormation takes it. */
export interface FirehoseProcessorParameter {
  parameterName: string;
  parameterValue: string;
}

export interface FirehoseArchiveDestinationSettings {
  prefix: string;
  errorOutputPrefix: string;
  compressionFormat: string;
  fileExtension: string;
  bufferingHints: { intervalInSeconds: number; sizeInMBs: number };
  dynamicPartitioningConfiguration: { enabled: boolean; retryOptions: { durationInSeconds: number } };
  processingConfiguration: { enabled: boolean; processors: { type: string; parameters: FirehoseProcessorParameter[] }[] };
}

/**
 * Everything of `ExtendedS3DestinationConfigurationProperty` that defines the archive layout, as a
 * fresh mutable object (CDK property types use mutable arrays). The CDK code adds bucketArn, roleArn,
 * logging and encryption.
 */
export function firehoseArchiveDestinationSettings(): FirehoseArchiveDestinationSettings {
  return {
    prefix: FIREHOSE_S3_PREFIX,
    errorOutputPrefix: FIREHOSE_ERROR_OUTPUT_PREFIX,
    compressionFormat: FIREHOSE_COMPRESSION_FORMAT,
    fileExtension: FIREHOSE_FILE_EXTENSION,
    bufferingHints: { intervalInSeconds: FIREHOSE_BUFFERING_INTERVAL_SECONDS, sizeInMBs: FIREHOSE_BUFFERING_SIZE_MIB },
    dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: FIREHOSE_DYNAMIC_PARTITIONING_RETRY_SECONDS } },
    processingConfiguration: {
      enabled: true,
      processors: [
        {
          type: 'MetadataExtraction',
          parameters: [
            { parameterName: 'MetadataExtractionQuery', parameterValue: FIREHOSE_PARTITION_QUERY },
            { parameterName: 'JsonParsingEngine', parameterValue: FIREHOSE_JSON_PARSING_ENGINE },
          ],
        },
        { type: 'AppendDelimiterToRecord', parameters: [{ parameterName: 'Delimiter', parameterValue: FIREHOSE_RECORD_DELIMITER }] },
      ],
    },
  };
}
