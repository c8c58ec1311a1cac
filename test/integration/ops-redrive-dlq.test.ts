import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore, createS3Client } from '../../bucket/s3-object-store.js';
import { serializeChangeEvent, type ChangeEvent } from '../../contracts/change-event.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { queueDepth, sqsDeadLetterQueue, type DeadLetterQueue } from '../../ops/dlq-redrive/dead-letter-queue.js';
import { readShardRange } from '../../ops/dlq-redrive/read-shard-range.js';
import { redriveDeadLetterQueue } from '../../ops/dlq-redrive/redrive-dlq.js';
import { silentLogger } from '../../platform/logger.js';
import { processRecords } from '../../stream-processors/process-records.js';
import { MemoryJoinStateStore } from '../../stream-processors/state/memory-join-state-store.js';
import { startKinesalite, startS3rver, type KinesaliteServer, type S3rverServer } from '../support/aws-emulators.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { startSqslite, type SqsliteServer } from '../support/sqslite-server.js';

const REGION = 'eu-west-2';
const STREAM = 'redrive-changes';

/** Lambda's on-failure record for one shard range (the exact shape AWS sends to an SQS destination). */
function onFailureRecord(streamArn: string, shardId: string, sequenceNumbers: string[]) {
  return JSON.stringify({
    requestContext: { requestId: 'c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5', functionArn: 'arn:aws:lambda:eu-west-2:123456789012:function:processor', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 11 },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: '2026-12-07T00:38:06.021Z',
    KinesisBatchInfo: {
      shardId,
      startSequenceNumber: sequenceNumbers[0],
      endSequenceNumber: sequenceNumbers[sequenceNumbers.length - 1],
      approximateArrivalOfFirstRecord: '2026-12-07T00:38:04.835Z',
      approximateArrivalOfLastRecord: '2026-12-07T00:38:05.580Z',
      batchSize: sequenceNumbers.length,
      streamArn,
    },
  });
}

describe('redrive-dlq against kinesalite + sqslite + s3rver, loaded into real Postgres', () => {
  let kinesis: KinesaliteServer;
  let s3: S3rverServer;
  let sqs: SqsliteServer;
  let warehouse: TestDatabase;
  let streamArn: string;
  let queueUrl: string;

  beforeAll(async () => {
    [kinesis, s3, sqs, warehouse] = await Promise.all([startKinesalite(REGION), startS3rver(['processed']), startSqslite(REGION), createTestDatabase('ops_redrive')]);
    streamArn = await kinesis.createStream(STREAM, 2);
    queueUrl = await sqs.createQueue('processor-dlq');
  });
  afterAll(async () => {
    await Promise.all([kinesis?.stop(), s3?.stop(), sqs?.stop(), warehouse?.drop()]);
  });

  it('re-processes each failed range once, deletes only after processing, and a re-run after a crash doubles nothing', async () => {
    // Currencies 1..6 and designs 1..6 across the two shards, then a poison record, then records AFTER the ranges.
    const events: ChangeEvent[] = [];
    for (let i = 1; i <= 6; i++) events.push(changeEvent('currency', 'c', sourceRow.currency({ currency_id: i, currency_code: ['GBP', 'USD', 'EUR', 'JPY', 'CHF', 'SEK'][i - 1] })));
    for (let i = 1; i <= 6; i++) events.push(changeEvent('design', 'c', sourceRow.design({ design_id: i, design_name: `Design ${i}` })));
    const put = await kinesis.client.send(
      new PutRecordsCommand({
        StreamName: STREAM,
        Records: [
          ...events.map((e) => ({ Data: Buffer.from(serializeChangeEvent(e)), PartitionKey: `${e.table}:${Object.values(e.key)[0]}` })),
          { Data: Buffer.from('{"not": "an event"'), PartitionKey: 'poison' },
        ],
      }),
    );
    const after = changeEvent('currency', 'u', sourceRow.currency({ currency_id: 1, currency_code: 'XXX' }));
    await kinesis.client.send(new PutRecordsCommand({ StreamName: STREAM, Records: [0, 1, 2, 3].map((i) => ({ Data: Buffer.from(serializeChangeEvent(after)), PartitionKey: `after-${i}` })) }));

    const byShard = new Map<string, string[]>();
    for (const r of put.Records!) byShard.set(r.ShardId!, [...(byShard.get(r.ShardId!) ?? []), r.SequenceNumber!]);
    expect(byShard.size).toBe(2);
    for (const [shardId, sequenceNumbers] of byShard) await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: onFailureRecord(streamArn, shardId, sequenceNumbers) }));
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'a message someone sent by hand' }));

    const processed = new S3ObjectStore(createS3Client({ region: REGION, endpoint: s3.endpoint }), 'processed');
    const state = new MemoryJoinStateStore();
    const redrive = (queue: DeadLetterQueue) =>
      redriveDeadLetterQueue({
        queue,
        readRange: (range) => readShardRange(kinesis.client, range),
        process: (records) => processRecords(records, { state, processed, logger: silentLogger }),
        logger: silentLogger,
      });

    // Run 1 "crashes" between processing the first range and deleting its message.
    // One message per receive: sqslite shares one receipt handle across a multi-message answer.
    const real = sqsDeadLetterQueue(sqs.client, queueUrl, { visibilityTimeoutS: 1, waitTimeS: 0, maxNumberOfMessages: 1 });
    let deletes = 0;
    const crashing: DeadLetterQueue = {
      receive: () => real.receive(),
      delete: async (message) => {
        if (deletes++ === 0) throw new Error('killed before the delete');
        await real.delete(message);
      },
    };
    const first = await redrive(crashing);
    expect(first.redriven).toHaveLength(1);
    expect(first.failed).toEqual([expect.objectContaining({ error: 'killed before the delete' })]);
    expect(first.skipped).toEqual([expect.objectContaining({ reason: 'the message is not JSON' })]);

    // Run 2, once the messages left behind are visible again (their visibility timeout passed): the crashed range is processed again.
    sqs.expireVisibility(queueUrl);
    const second = await redrive(real);
    expect(second.redriven).toHaveLength(1);
    expect(second.failed).toEqual([]);
    expect(second.skipped).toHaveLength(1);
    const ranges = [...first.redriven, ...second.redriven];
    expect(ranges.map((r) => r.shardId).sort()).toEqual([...byShard.keys()].sort());
    expect(ranges.reduce((n, r) => n + r.records, 0)).toBe(13); // 12 events + the poison record, none of the 4 after the ranges
    expect(ranges.reduce((n, r) => n + r.events, 0)).toBe(12);
    expect(ranges.reduce((n, r) => n + r.quarantined, 0)).toBe(1);
    // The message whose delete "crashed" is the one run 2 redrove.
    expect(second.redriven[0].messageId).toBe(first.failed[0].messageId);

    // Only the hand-written message is left; the ranges' messages are gone.
    sqs.expireVisibility(queueUrl);
    expect(await queueDepth(sqs.client, queueUrl)).toMatchObject({ visible: 1 });

    // Three manifests were written (one range twice), with two distinct batch ids: the warehouse gets each row once.
    const manifests: string[] = [];
    for await (const object of processed.list('manifests/')) manifests.push(object.key);
    expect(manifests).toHaveLength(3);
    // The range processed twice wrote the same batch id both times (manifest keys end in -<batchId>.json).
    const batchIds = manifests.map((key) => /-([0-9a-f]{32})\.json$/.exec(key)![1]).sort();
    expect(new Set(batchIds).size).toBe(2);
    expect(batchIds.filter((id) => id === second.redriven[0].batchId)).toHaveLength(2);
    const summary = await loadPendingManifests({ warehouseUrl: warehouse.url, processed, logger: silentLogger });
    expect(summary).toMatchObject({ manifestsLoaded: 2, manifestsSkipped: 1, manifestsFailed: 0 });
    const counts = await withClient(warehouse.url, async (c) => ({
      currency: (await c.query('SELECT count(*)::int AS n FROM star.dim_currency')).rows[0].n,
      design: (await c.query('SELECT count(*)::int AS n FROM star.dim_design')).rows[0].n,
    }));
    expect(counts).toEqual({ currency: 6, design: 6 });
    expect(summary.rowsByTable).toMatchObject({ dim_currency: 6, dim_design: 6 });
  });

  it('a range the stream no longer holds stays in the queue with a clear reason', async () => {
    const queue = await sqs.createQueue('expired-dlq');
    const shardId = 'shardId-000000000000';
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: onFailureRecord(streamArn, shardId, ['49000000000000000000000000000000000000000000000000000001', '49000000000000000000000000000000000000000000000000000002']) }));
    const report = await redriveDeadLetterQueue({
      queue: sqsDeadLetterQueue(sqs.client, queue, { visibilityTimeoutS: 1, waitTimeS: 0 }),
      readRange: (range) => readShardRange(kinesis.client, range),
      process: () => Promise.reject(new Error('must not be called')),
      logger: silentLogger,
    });
    expect(report.redriven).toEqual([]);
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0].error).not.toContain('must not be called');
  });
});
