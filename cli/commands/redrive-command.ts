import type { Command } from 'commander';
import { ConfigError } from '../../platform/errors.js';
import { commandContext } from '../context.js';
import { EXIT, runAction } from '../run-action.js';

interface RedriveOptions {
  queueUrl?: string;
  sqsEndpoint?: string;
  maxMessages?: string;
  visibilityTimeout?: string;
}

export function registerRedriveCommand(program: Command): void {
  program
    .command('redrive-dlq')
    .description("re-process the Kinesis ranges in the stream processor's dead-letter queue, then delete each message")
    .option('--queue-url <url>', 'the dead-letter queue URL [env TOTESYS_PROCESSOR_DLQ_URL]')
    .option('--sqs-endpoint <url>', 'SQS endpoint override (emulators) [env TOTESYS_SQS_ENDPOINT]')
    .option('--max-messages <n>', 'stop after this many messages (default 1000)')
    .option('--visibility-timeout <s>', 'seconds a message stays hidden while its range is re-processed (default 300)')
    .addHelpText(
      'after',
      `
Run it after fixing what made the processor fail (a bug, a permission, a full bucket). Each message is
Lambda's on-failure record of one shard range; the range is re-read from the stream (it must still be
within the stream's retention; older ranges are rebuilt from the archive with replay), processed exactly
as the Lambda processes it, and the message is deleted only after the range's manifest is written.
Safe to re-run: a range processed twice gives the same batch id and the loader loads it once.
Needs the processor's settings: --stream kinesis, --buckets s3 --processed-bucket, --state-store dynamodb
--dynamodb-table (the ECS task has them). Exit code 0 when every message was redriven, 1 when none
could be, 3 when some are left in the queue (see the report).`,
    )
    .action((options: RedriveOptions, command: Command) =>
      runAction(async () => {
        const { config, logger } = commandContext(command, 'redrive-dlq');
        const queueUrl = options.queueUrl ?? config.operations.processorDlqUrl;
        if (!queueUrl) throw new ConfigError('the dead-letter queue is not set: pass --queue-url or set TOTESYS_PROCESSOR_DLQ_URL (the stack output ProcessorDeadLetterQueueUrl)');
        if (config.stream.kind !== 'kinesis') throw new ConfigError('redrive-dlq re-reads Kinesis: set --stream kinesis / TOTESYS_STREAM=kinesis');
        if (config.buckets.kind !== 's3' || config.stateStore.kind !== 'dynamodb') {
          throw new ConfigError('redrive-dlq writes where the processor Lambda writes: set TOTESYS_BUCKETS=s3, TOTESYS_PROCESSED_BUCKET, TOTESYS_STATE_STORE=dynamodb and TOTESYS_DYNAMODB_TABLE');
        }
        const maxMessages = options.maxMessages === undefined ? undefined : Number(options.maxMessages);
        const visibilityTimeoutS = options.visibilityTimeout === undefined ? undefined : Number(options.visibilityTimeout);
        if (maxMessages !== undefined && !(Number.isSafeInteger(maxMessages) && maxMessages > 0)) throw new ConfigError('--max-messages must be a positive whole number');
        if (visibilityTimeoutS !== undefined && !(Number.isSafeInteger(visibilityTimeoutS) && visibilityTimeoutS >= 0 && visibilityTimeoutS <= 43_200)) throw new ConfigError('--visibility-timeout must be 0 to 43200 seconds');

        const { createSqsClient } = await import('../../ops/aws-clients.js');
        const { sqsDeadLetterQueue } = await import('../../ops/dlq-redrive/dead-letter-queue.js');
        const { readShardRange } = await import('../../ops/dlq-redrive/read-shard-range.js');
        const { redriveDeadLetterQueue } = await import('../../ops/dlq-redrive/redrive-dlq.js');
        const { createKinesisClient } = await import('../../stream/kinesis/create-kinesis-client.js');
        const { createObjectStore } = await import('../../bucket/create-object-store.js');
        const { createJoinStateStore } = await import('../../stream-processors/state/create-state-store.js');
        const { processRecords } = await import('../../stream-processors/process-records.js');

        const sqs = createSqsClient({ region: config.stream.region, endpoint: options.sqsEndpoint ?? config.operations.sqsEndpoint });
        const kinesis = createKinesisClient({ region: config.stream.region, endpoint: config.stream.endpoint });
        const processed = createObjectStore(config, 'processed');
        const state = await createJoinStateStore(config, logger);
        try {
          const report = await redriveDeadLetterQueue({
            queue: sqsDeadLetterQueue(sqs, queueUrl, { visibilityTimeoutS }),
            readRange: (range) => readShardRange(kinesis, range),
            process: (records) => processRecords(records, { state, processed, logger }),
            logger,
            maxMessages,
          });
          process.stdout.write(JSON.stringify(report, null, 2) + '\n');
          const left = report.failed.length + report.skipped.length;
          return left === 0 ? EXIT.ok : report.redriven.length > 0 ? EXIT.partial : EXIT.failed;
        } finally {
          sqs.destroy();
          kinesis.destroy();
          await state.close();
        }
      }),
    );
}
