import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, type MetricName } from '../../platform/metrics.js';

export interface AlarmThresholds {
  /** WAL the slot retains beyond its confirmed position. @default 1 GiB */
  readonly slotLagBytes?: number;
  /** Age of the oldest unread stream record. @default Duration.minutes(5) */
  readonly iteratorAge?: Duration;
  /**
   * How far the warehouse watermark ("every change committed up to T is loaded") may trail now.
   * The capture's heartbeat advances it on a quiet source, so it stays small all night; it grows
   * only when a stage stops.
   * @default Duration.minutes(5)
   */
  readonly warehouseFreshness?: Duration;
  /** How old the archive's (Firehose's) oldest undelivered record may be. @default Duration.minutes(15) */
  readonly archiveFreshness?: Duration;
}

export interface ObservabilityProps {
  readonly stream: kinesis.IStream;
  readonly processorFunction: lambda.IFunction;
  readonly processorDeadLetterQueue: sqs.IQueue;
  readonly loaderFunction: lambda.IFunction;
  /** The database-side slot monitor (its errors are graphed; its metric feeds the slot-lag alarm). @default none */
  readonly slotMonitorFunction?: lambda.IFunction;
  readonly deliveryStreamName: string;
  readonly captureClusterName: string;
  readonly captureServiceName: string;
  /** Where alarms are e-mailed (the recipient confirms the subscription). @default no subscription */
  readonly alertEmail?: string;
  /** @default see AlarmThresholds */
  readonly thresholds?: AlarmThresholds;
  /** Create the alarms. @default true */
  readonly alarms?: boolean;
  /** The capture's metrics carry the slot name as their `SlotName` dimension. @default 'totesys_cdc' */
  readonly slotName?: string;
  /** `service` dimension values of the processor's and loader's metrics. @default { loader: 'loader', processor: 'stream-processor' } */
  readonly serviceDimensions?: { loader?: string; processor?: string };
}

/**
 * Alarms for every way the pipeline silently stops (capture not running or not heartbeating, slot
 * lag that makes Postgres keep WAL, a stream nobody reads, processor and loader failures, DLQ
 * entries, stale warehouse) to one SNS topic, plus a dashboard of the lag along the pipeline.
 */
export class Observability extends Construct {
  readonly topic: sns.ITopic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const t = props.thresholds ?? {};
    const dims = { loader: 'loader', processor: 'stream-processor', ...props.serviceDimensions };
    const custom = (name: MetricName, service: string, statistic: string, period = Duration.minutes(1)) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: { service }, statistic, period });
    const slot = { SlotName: props.slotName ?? 'totesys_cdc' };
    const captureMetric = (name: MetricName, statistic: string, period = Duration.minutes(1)) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: slot, statistic, period });

    const topicKey = new kms.Key(this, 'TopicKey', { enableKeyRotation: true, description: 'totesys-cdc alarm topic' });
    // CloudWatch alarms publish to an encrypted topic only if the key lets CloudWatch use it.
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        // Only for alarms of this account (no confused deputy through another account's alarms).
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'totesys-cdc alarms', masterKey: topicKey, enforceSSL: true });
    if (props.alertEmail) topic.addSubscription(new subscriptions.EmailSubscription(props.alertEmail));
    this.topic = topic;

    const slotLag = captureMetric(METRIC.slotLagBytes, 'Maximum');
    const slotLost = captureMetric(METRIC.slotLost, 'Maximum');
    const heartbeat = captureMetric(METRIC.captureHeartbeat, 'SampleCount', Duration.minutes(5));
    const runningTasks = new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: props.captureClusterName, ServiceName: props.captureServiceName },
      statistic: 'Minimum',
      period: Duration.minutes(1),
    });
    const iteratorAge = props.stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum', period: Duration.minutes(1) });
    const processorErrors = props.processorFunction.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) });
    const processorDuration = props.processorFunction.metricDuration({ statistic: 'p99', period: Duration.minutes(5) });
    const dlqVisible = props.processorDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) });
    const loaderFailures = custom(METRIC.loaderFailures, dims.loader, 'Sum', Duration.minutes(5));
    const loaderErrors = props.loaderFunction.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) });
    const freshness = custom(METRIC.warehouseFreshnessMs, dims.loader, 'Maximum', Duration.minutes(5));
    const watermarkAge = custom(METRIC.warehouseWatermarkAgeMs, dims.loader, 'Maximum');
    const quarantined = custom(METRIC.eventsQuarantined, dims.processor, 'Sum', Duration.minutes(5));
    const confirmedLsnLag = captureMetric(METRIC.confirmedLsnLagMs, 'Maximum');
    const sinkLatency = captureMetric(METRIC.sinkLatencyMs, 'p99');
    const processorIteratorAge = props.processorFunction.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) });
    const writeThrottles = props.stream.metricWriteProvisionedThroughputExceeded({ statistic: 'Sum', period: Duration.minutes(1) });
    const readThrottles = props.stream.metricReadProvisionedThroughputExceeded({ statistic: 'Sum', period: Duration.minutes(1) });
    const firehose = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/Firehose', metricName, dimensionsMap: { DeliveryStreamName: props.deliveryStreamName }, statistic, period: Duration.minutes(5) });
    const firehoseSuccess = firehose('DeliveryToS3.Success', 'Minimum');
    const firehoseFreshness = new cloudwatch.Metric({
      namespace: 'AWS/Firehose',
      metricName: 'DeliveryToS3.DataFreshness',
      dimensionsMap: { DeliveryStreamName: props.deliveryStreamName },
      statistic: 'Maximum',
      period: Duration.minutes(5),
    });

    if (props.alarms ?? true) {
      const alarm = (id: string, description: string, options: cloudwatch.AlarmProps) => {
        const created = new cloudwatch.Alarm(this, id, { alarmDescription: description, ...options });
        created.addAlarmAction(new actions.SnsAction(topic));
        created.addOkAction(new actions.SnsAction(topic));
        this.alarms.push(created);
        return created;
      };
      alarm('CaptureNotRunning', 'No capture task is running: changes are not captured and the slot keeps WAL.', {
        metric: runningTasks,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      alarm('CaptureHeartbeatMissing', 'The capture emitted no heartbeat for 10 minutes: it is down, stuck or cannot reach Postgres.', {
        metric: heartbeat,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      // Two producers: the capture while it runs, the database-side slot monitor always. Missing
      // data means both are silent (or the slot is gone): that is a failure, not a quiet source.
      alarm('SlotLag', 'The replication slot retains more WAL than allowed, or nothing measures it: the capture falls behind or is stuck; the source disk fills.', {
        metric: slotLag,
        threshold: t.slotLagBytes ?? 1024 ** 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      // Two producers: the capture counts each loss it detects (then recovers by a new snapshot and
      // reconciliation), the slot monitor reads 1 while the slot is lost. Silence is not a loss:
      // the heartbeat and slot-lag alarms cover a capture or monitor that stopped reporting.
      alarm('SlotLost', 'The replication slot was lost (invalidated past max_slot_wal_keep_size, dropped, or missing after a restore or failover): the capture re-reads every table and reconciles the warehouse; find out why (docs/capture-spec.md, lost slot).', {
        metric: slotLost,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm('StreamIteratorAge', 'A stream consumer (processor or archive) is behind: change events wait unread.', {
        metric: iteratorAge,
        threshold: (t.iteratorAge ?? Duration.minutes(5)).toMilliseconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm('ProcessorErrors', 'The stream processor Lambda failed invocations (batches are retried, bisected, then sent to the DLQ).', {
        metric: processorErrors,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm('ProcessorDeadLetters', 'Stream ranges the processor gave up on are in the DLQ: redrive them or replay from the archive.', {
        metric: dlqVisible,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm('LoaderFailures', 'The loader reported failed manifest loads.', {
        metric: loaderFailures,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm('LoaderErrors', 'The loader Lambda failed (crash, timeout, or no access to the warehouse).', {
        metric: loaderErrors,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      // The watermark advances with the capture's heartbeats even when nothing changes, so a quiet
      // night stays green; a stuck stage (or a loader that stopped publishing) turns it red.
      alarm('WarehouseStale', 'The warehouse watermark trails now by more than allowed (or is not published): a stage between capture and loader is stuck.', {
        metric: watermarkAge,
        threshold: (t.warehouseFreshness ?? Duration.minutes(5)).toMilliseconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      alarm('EventsQuarantined', 'The processor quarantined change events it could not turn into rows: see quarantine/ in the processed bucket.', {
        metric: quarantined,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm('ArchiveDeliveryFailing', 'Firehose failed to deliver to the ingestion bucket: the archive (replay source) is falling behind; see the Firehose error log and errors/.', {
        metric: firehoseSuccess,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm('ArchiveStale', 'The oldest record not yet archived is older than allowed: Firehose cannot keep up or cannot write.', {
        metric: firehose('DeliveryToS3.DataFreshness', 'Maximum'),
        threshold: (t.archiveFreshness ?? Duration.minutes(15)).toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown: '# totesys-cdc\nLag along the pipeline: source WAL held by the slot -> stream -> processor / archive -> warehouse.',
            width: 24,
            height: 2,
          }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Slot lag (bytes of WAL retained; capture and slot monitor)', left: [slotLag], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Stream iterator age (ms): stream and processor', left: [iteratorAge, processorIteratorAge], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Archive (Firehose) data freshness (s) and delivery success', left: [firehoseFreshness], right: [firehoseSuccess], width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Warehouse watermark age (ms): now - every change loaded up to', left: [watermarkAge], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Capture: confirmed-LSN lag (ms) and sink latency p99 (ms)', left: [confirmedLsnLag], right: [sinkLatency], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Kinesis throttling (records)', left: [writeThrottles, readThrottles], width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Processor errors', left: [processorErrors, dlqVisible], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Processor duration p99 (ms)', left: [processorDuration], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Warehouse freshness (ms)', left: [freshness], right: [loaderFailures, loaderErrors], width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Capture',
            left: [captureMetric(METRIC.eventsPublished, 'Sum')],
            right: [runningTasks, heartbeat],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Throughput',
            left: [custom(METRIC.eventsProcessed, dims.processor, 'Sum'), custom(METRIC.rowsLoaded, dims.loader, 'Sum')],
            right: [custom(METRIC.eventsQuarantined, dims.processor, 'Sum')],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Function errors',
            left: [processorErrors, loaderErrors, ...(props.slotMonitorFunction ? [props.slotMonitorFunction.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) })] : [])],
            width: 24,
          }),
        ],
      ],
    });
  }
}
