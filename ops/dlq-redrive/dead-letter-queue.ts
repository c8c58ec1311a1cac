import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** The slice of a queue the redrive needs (SQS in AWS; tests may wrap it to inject a crash). */
export interface DeadLetterQueue {
  /** Up to 10 messages, hidden from other readers for the visibility timeout. */
  receive(): Promise<DeadLetterMessage[]>;
  delete(message: DeadLetterMessage): Promise<void>;
}

export interface DeadLetterMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
}

export type SqsSender = Pick<SQSClient, 'send'>;

export function sqsDeadLetterQueue(sqs: SqsSender, queueUrl: string, options: { visibilityTimeoutS?: number; waitTimeS?: number; maxNumberOfMessages?: number } = {}): DeadLetterQueue {
  return {
    async receive() {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: options.maxNumberOfMessages ?? 10,
          // Long enough to re-read and process one range; a message whose redrive fails reappears after it.
          VisibilityTimeout: options.visibilityTimeoutS ?? 300,
          WaitTimeSeconds: options.waitTimeS ?? 1,
        }),
      );
      return (out.Messages ?? []).map((m) => ({ messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body ?? '' }));
    },
    async delete(message) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.receiptHandle }));
    },
  };
}

/** Messages waiting (visible) and being handled (in flight); the latter is absent from some emulators. */
export async function queueDepth(sqs: SqsSender, queueUrl: string): Promise<{ visible: number; inFlight: number | null }> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  const inFlight = out.Attributes?.ApproximateNumberOfMessagesNotVisible;
  return { visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0), inFlight: inFlight === undefined ? null : Number(inFlight) };
}
