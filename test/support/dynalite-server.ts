import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, type AttributeDefinition, type KeySchemaElement } from '@aws-sdk/client-dynamodb';

const require = createRequire(import.meta.url);

/** dynalite (in-memory DynamoDB emulator) in this process on a free loopback port. */
export interface DynaliteServer {
  endpoint: string;
  client: DynamoDBClient;
  createTable(name: string, keySchema: KeySchemaElement[], attributes: AttributeDefinition[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startDynalite(): Promise<DynaliteServer> {
  const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // Port 0: the kernel binds a free port at once (a port picked first could be taken before the listen).
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'eu-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return {
    endpoint,
    client,
    async createTable(name, keySchema, attributes) {
      await client.send(new CreateTableCommand({ TableName: name, KeySchema: keySchema, AttributeDefinitions: attributes, BillingMode: 'PAY_PER_REQUEST' }));
    },
    async stop() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
