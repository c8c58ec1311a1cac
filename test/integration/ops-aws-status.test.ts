import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore, createS3Client } from '../../bucket/s3-object-store.js';
import { readSlotStatus } from '../../capture/control/slot-status.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { readWarehouseStatus } from '../../loader/warehouse-status.js';
import { createCloudWatchClient } from '../../ops/aws-clients.js';
import { readAwsStatus, type AwsStatusPorts } from '../../ops/aws-status/aws-status.js';
import { readMetrics } from '../../ops/aws-status/cloudwatch-metrics.js';
import { summariseQuarantine } from '../../ops/aws-status/quarantine-summary.js';
import { renderAwsStatus } from '../../ops/aws-status/render-aws-status.js';
import { queueDepth } from '../../ops/dlq-redrive/dead-letter-queue.js';
import { silentLogger } from '../../platform/logger.js';
import { startS3rver } from '../support/aws-emulators.js';
import { runCli } from '../support/cli.js';
import { RECORDED_AT, startCloudWatchReplay } from '../support/cloudwatch-replay.js';
import { createTestDatabase, withClient } from '../support/postgres.js';
import { paymentFact, writeBatch } from '../support/processed-batch-factory.js';
import { startSqslite } from '../support/sqslite-server.js';
import { useSuiteResources } from '../support/suite-resources.js';

const REGION = 'eu-west-2';

describe('status --aws: every part from its real source', () => {
  const slotName = `t_status_${randomBytes(3).toString('hex')}`;
  const suite = useSuiteResources({
    source: () => createTestDatabase('ops_status_src'),
    warehouse: () => createTestDatabase('ops_status_wh'),
    s3: () => startS3rver(['processed']),
    sqs: () => startSqslite(REGION),
    cloudwatch: startCloudWatchReplay,
  });
  let queueUrl: string;
  let processed: S3ObjectStore;

  beforeAll(async () => {
    await withClient(suite.source.url, (c) => c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slotName]));
    processed = new S3ObjectStore(createS3Client({ region: REGION, endpoint: suite.s3.endpoint }), 'processed');
    await writeBatch(processed, { fact_payment: [paymentFact(1, 10n)] });
    await loadPendingManifests({ warehouseUrl: suite.warehouse.url, processed, logger: silentLogger });
    await processed.put('quarantine/date=2026-12-06/aaaa.json', '{"reason":"malformed-json"}');
    await processed.put('quarantine/date=2026-12-07/bbbb.json', '{"reason":"invalid-event"}');
    queueUrl = await suite.sqs.createQueue('status-dlq');
    for (const n of [1, 2]) await suite.sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `{"n":${n}}` }));
  });

  const ports = (): AwsStatusPorts => {
    const client = createCloudWatchClient({ region: REGION, endpoint: suite.cloudwatch.endpoint });
    return {
      slot: () => readSlotStatus(suite.source.url, slotName),
      metrics: (queries, window) => readMetrics(client, queries, window),
      deadLetterQueue: () => queueDepth(suite.sqs.client, queueUrl),
      quarantine: () => summariseQuarantine(processed),
      warehouse: () => readWarehouseStatus(suite.warehouse.url),
    };
  };
  const names = { slotName, streamName: 'totesys-changes', processorFunctionName: 'totesys-processor' };

  it('reads the slot, CloudWatch metrics, the DLQ depth, the quarantine and the warehouse ledger', async () => {
    const status = await readAwsStatus(ports(), { names, now: () => RECORDED_AT + 30_000 });
    expect(status.slot).toMatchObject({ slotName, exists: true, active: false, walStatus: 'reserved' });
    expect(status.metrics).toEqual({
      windowMinutes: 30,
      capture: { lastHeartbeatAt: '2026-12-07T00:59:00.000Z', heartbeatAgeMs: 90_000, stale: false, eventsPublished: 200, slotLagBytes: 4096, confirmedLsnLagMs: 1500, sinkLatencyMs: 35 },
      stream: { kinesisIteratorAgeMs: 800, lambdaIteratorAgeMs: 1200 },
      processor: { eventsProcessed: 200, eventsQuarantined: 2 },
      loader: { warehouseFreshnessMs: 61_000, warehouseWatermarkAgeMs: 65_000, loaderFailures: 0 },
    });
    expect(status.deadLetterQueue).toMatchObject({ visible: 2 });
    expect(status.quarantine).toEqual({ objects: 2, limited: false, newestDate: '2026-12-07' });
    expect(status.warehouse).toMatchObject({ initialised: true, manifestsLoaded: 1, failedManifests: 0 });

    // What was asked of CloudWatch: the names and dimensions the components publish.
    const queries = (suite.cloudwatch.requests.at(-1)!.body.MetricDataQueries as Array<{ Id: string; MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] } } }>).map((q) => [q.Id, q.MetricStat.Metric.Namespace, q.MetricStat.Metric.MetricName, q.MetricStat.Metric.Dimensions]);
    expect(queries).toContainEqual(['heartbeat', 'TotesysCdc', 'captureHeartbeat', [{ Name: 'SlotName', Value: slotName }]]);
    expect(queries).toContainEqual(['kinesisIteratorAgeMs', 'AWS/Kinesis', 'GetRecords.IteratorAgeMilliseconds', [{ Name: 'StreamName', Value: 'totesys-changes' }]]);
    expect(queries).toContainEqual(['lambdaIteratorAgeMs', 'AWS/Lambda', 'IteratorAge', [{ Name: 'FunctionName', Value: 'totesys-processor' }]]);
    expect(queries).toContainEqual(['eventsQuarantined', 'TotesysCdc', 'eventsQuarantined', [{ Name: 'service', Value: 'stream-processor' }]]);

    const text = renderAwsStatus(status);
    expect(text).toContain('capture     heartbeat 1 min 30 s ago, 200 events published in 30 min');
    expect(text).toContain('dlq         2 failed range(s) waiting: fix the cause, then totesys-cdc redrive-dlq');
  });

  it('a capture without heartbeats for minutes is reported stale; one failing part does not hide the others', async () => {
    const status = await readAwsStatus({ ...ports(), warehouse: () => Promise.reject(new Error('no route to the warehouse')) }, { names, now: () => RECORDED_AT + 10 * 60_000 });
    expect(status.metrics).toMatchObject({ capture: { stale: true, lastHeartbeatAt: '2026-12-07T00:59:00.000Z' } });
    expect(status.warehouse).toEqual({ error: 'no route to the warehouse' });
    expect(status.slot).toMatchObject({ exists: true });
    expect(renderAwsStatus(status)).toContain('capture     NO HEARTBEAT since 2026-12-07T00:59:00.000Z');
  });

  it('the CLI: status --aws --json needs no local state', async () => {
    const stateDir = path.join(os.tmpdir(), `never-${randomBytes(4).toString('hex')}`);
    const result = await runCli([
      'status', '--aws', '--json', '--state-dir', stateDir, '--slot-name', slotName,
      '--stream', 'kinesis', '--kinesis-stream-name', 'totesys-changes', '--buckets', 's3', '--processed-bucket', 'processed', '--s3-endpoint', suite.s3.endpoint,
      '--source-url', suite.source.url, '--warehouse-url', suite.warehouse.url, '--cloudwatch-endpoint', suite.cloudwatch.endpoint,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout);
    expect(status.slot).toMatchObject({ slotName, exists: true });
    expect(status.metrics.capture.lastHeartbeatAt).toBe('2026-12-07T00:59:00.000Z');
    expect(status.deadLetterQueue).toBeNull();
    expect(status.quarantine.objects).toBe(2);
    expect(existsSync(stateDir)).toBe(false);
  }, 180_000);
});
