import { createRequire } from 'node:module';
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
// The SDK's AWS Query protocol (what SQS spoke before JSON): sqslite understands only that one.
import { AwsQueryProtocol } from '@aws-sdk/core/protocols';

const require = createRequire(import.meta.url);

/**
 * sqslite (SQS emulator) in this process. It speaks SQS's query protocol only, and recognises queue
 * URLs on `localhost` only, so its client is the real @aws-sdk/client-sqs switched to the query
 * protocol, on http://localhost:<port>. The operations (ReceiveMessage, DeleteMessage,
 * GetQueueAttributes...) and their inputs and outputs are the same as with JSON.
 * Two gaps of sqslite 2.1 to keep in mind: one receipt handle is shared by every message of a
 * ReceiveMessage answer (so receive one message at a time when deleting selectively), and visibility
 * timeouts never expire (see expireVisibility).
 */
export interface SqsliteServer {
  endpoint: string;
  client: SQSClient;
  createQueue(name: string): Promise<string>;
  /**
   * What SQS does when a visibility timeout expires: messages received but not deleted become
   * visible again. sqslite never does it by itself (a received message stays hidden for good).
   */
  expireVisibility(queueUrl: string): void;
  stop(): Promise<void>;
}

interface Fastify {
  listen(options: { port: number; host: string }): Promise<string>;
  server: { address(): { port: number } };
  close(): Promise<void>;
}

export async function startSqslite(region = 'eu-west-2'): Promise<SqsliteServer> {
  const sqslite = require('sqslite') as (options: Record<string, unknown>) => Fastify;
  const server = sqslite({ logger: false });
  await server.listen({ port: 0, host: 'localhost' });
  const endpoint = `http://localhost:${server.server.address().port}`;
  const client = new SQSClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' },
    protocol: AwsQueryProtocol,
    protocolSettings: { defaultNamespace: 'com.amazonaws.sqs', xmlNamespace: 'http://queue.amazonaws.com/doc/2012-11-05/', version: '2012-11-05' },
  } as SQSClientConfig);
  const { CreateQueueCommand } = await import('@aws-sdk/client-sqs');
  return {
    endpoint,
    client,
    async createQueue(name) {
      return (await client.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
    },
    expireVisibility(queueUrl) {
      const state = require('sqslite/lib/sqs.js') as { getQueueState(url: string): { messages: Array<{ '@State': { isRead: boolean } }> } | undefined };
      for (const message of state.getQueueState(queueUrl)?.messages ?? []) message['@State'].isRead = false;
    },
    async stop() {
      client.destroy();
      await server.close();
    },
  };
}
