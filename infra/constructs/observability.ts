import { Duration } from 'aws-cdk-lib';
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
  /** How old the newest loaded data may be. @default Duration.minutes(15) */
  readonly warehouseFreshness?: Duration;
}

export interface ObservabilityProps {
  readonly stream: kinesis.IStream;
  readonly processorFunction: lambda.IFunction;
  readonly processorDeadLetterQueue: sqs.IQueue;
  readonly loaderFunction: lambda.IFunction;
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
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'totesys-cdc alarms', masterKey: topicKey, enforceSSL: true });
    if (props.alertEmail) topic.addSubscription(new subscriptions.EmailSubscription(props.alertEmail));
    this.topic = topic;

    const slotLag = captureMetric(METRIC.slotLagBytes, 'Maximum');
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
      alarm('SlotLag', 'The replication slot retains more WAL than allowed: the capture falls behind or is stuck; the source disk fills.', {
        metric: slotLag,
        threshold: t.slotLagBytes ?? 1024 ** 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
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
      alarm('WarehouseStale', 'The newest data in the warehouse is older than allowed.', {
        metric: freshness,
        threshold: (t.warehouseFreshness ?? Duration.minutes(15)).toMilliseconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
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
          new cloudwatch.GraphWidget({ title: 'Slot lag (bytes of WAL retained)', left: [slotLag], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Stream iterator age (ms)', left: [iteratorAge], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Archive (Firehose) data freshness (s)', left: [firehoseFreshness], width: 8 }),
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
      ],
    });
  }
}
