import { NodeHttpHandler } from '@smithy/node-http-handler';
import { isLoopbackEndpoint } from '../../platform/aws-endpoint.js';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type KeySchemaElement,
  type AttributeDefinition,
} from '@aws-sdk/client-dynamodb';
import { isRetryable } from '../../platform/errors.js';
import { sortableLsn } from '../../contracts/lsn.js';
import type { VersionedRow } from '../transform/versioned-row.js';
import { referencedId, StateStoreError, type JoinSourceTable, type JoinStateStore } from './join-state-store.js';

/**
 * Join state in DynamoDB (on-demand table, key `pk` (S) + `sk` (S)):
 *  - a source row:   pk `staff#12`,              sk `row`, version, lsn, seq, deleted, row (JSON text)
 *  - an index entry: pk `department#3#staff`,    sk `12`   (and `address#7#counterparty`)
 * `version` is `<16 hex LSN>/<10 digit seq>`, so a string comparison in a condition expression is the
 * (lsn, seq) order: the conditional put keeps the highest version without a read or a transaction.
 * Reads are strongly consistent (docs/architecture.md#star-schema-and-joined-dimensions: write your own side, then read the other side).
 */
export const STATE_TABLE_KEY_SCHEMA: KeySchemaElement[] = [
  { AttributeName: 'pk', KeyType: 'HASH' },
  { AttributeName: 'sk', KeyType: 'RANGE' },
];
export const STATE_TABLE_ATTRIBUTES: AttributeDefinition[] = [
  { AttributeName: 'pk', AttributeType: 'S' },
  { AttributeName: 'sk', AttributeType: 'S' },
];

/** The slice of the DynamoDB client this adapter uses. */
export interface DynamoDbSender {
  send: DynamoDBClient['send'];
}

const ROW_SK = 'row';
const PARENT_OF = { staff: 'department', counterparty: 'address' } as const;

function versionKey(value: VersionedRow): string {
  return `${sortableLsn(value.version.lsn)}/${String(value.version.seq).padStart(10, '0')}`;
}

const NON_RETRYABLE_AWS = new Set(['ResourceNotFoundException', 'ValidationException', 'AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException']);

function classify(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e?.name && NON_RETRYABLE_AWS.has(e.name)) return false;
  if (e?.$retryable || (e?.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  if (e?.name && /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|InternalServerError|ServiceUnavailable|TimeoutError/.test(e.name)) return true;
  return isRetryable(error);
}

export class DynamoDbJoinStateStore implements JoinStateStore {
  constructor(
    private readonly client: DynamoDbSender,
    private readonly tableName: string,
    private readonly ownsClient = false,
  ) {}

  static fromConfig(options: { tableName: string; region: string; endpoint?: string }): DynamoDbJoinStateStore {
    // An emulator on loopback (dynalite) takes any key; everywhere else the default credential chain.
    const emulator = options.endpoint && isLoopbackEndpoint(options.endpoint);
    const client = new DynamoDBClient({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(emulator ? { credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' }, requestHandler: new NodeHttpHandler() } : {}),
    });
    return new DynamoDbJoinStateStore(client, options.tableName, true);
  }

  private async call<T>(what: string, table: JoinSourceTable, id: number | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      if (cause instanceof ConditionalCheckFailedException) throw cause;
      throw new StateStoreError(`DynamoDB ${what} on ${this.tableName} failed for ${table}${id === undefined ? '' : `#${id}`}: ${(cause as Error).message}`, table, id, {
        retryable: classify(cause),
        cause,
      });
    }
  }

  async put(table: JoinSourceTable, id: number, value: VersionedRow): Promise<VersionedRow> {
    // The index entry goes first: a reader that finds the row also finds the entry.
    if (table === 'staff' || table === 'counterparty') {
      const parentId = referencedId(table, value);
      if (parentId !== null) {
        await this.call('index put', table, id, () =>
          this.client.send(new PutItemCommand({ TableName: this.tableName, Item: { pk: { S: `${PARENT_OF[table]}#${parentId}#${table}` }, sk: { S: String(id) } } })),
        );
      }
    }
    const item: Record<string, AttributeValue> = {
      pk: { S: `${table}#${id}` },
      sk: { S: ROW_SK },
      version: { S: versionKey(value) },
      lsn: { S: value.version.lsn.toString() },
      seq: { N: String(value.version.seq) },
      deleted: { BOOL: value.deleted },
      row: { S: JSON.stringify(value.row) },
    };
    try {
      await this.call('put', table, id, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk) OR #version < :version',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':version': { S: versionKey(value) } },
          }),
        ),
      );
      return value;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // A version at least as high is stored: that one wins (idempotent re-put or a late change).
      const stored = await this.get(table, id);
      if (!stored) throw new StateStoreError(`DynamoDB put lost to a row that then vanished: ${table}#${id}`, table, id, { retryable: true, cause: error });
      return stored;
    }
  }

  async get(table: JoinSourceTable, id: number): Promise<VersionedRow | null> {
    const result = await this.call('get', table, id, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: `${table}#${id}` }, sk: { S: ROW_SK } }, ConsistentRead: true })),
    );
    const item = result.Item;
    if (!item) return null;
    return {
      row: JSON.parse(item.row?.S ?? '{}') as VersionedRow['row'],
      version: { lsn: BigInt(item.lsn?.S ?? '0'), seq: Number(item.seq?.N ?? '0') },
      deleted: item.deleted?.BOOL === true,
    };
  }

  private async children(parent: 'department' | 'address', child: 'staff' | 'counterparty', parentId: number): Promise<number[]> {
    const ids: number[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.call('query', child, undefined, () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: `${parent}#${parentId}#${child}` } },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) ids.push(Number(item.sk?.S));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return ids.sort((a, b) => a - b);
  }

  staffIdsOfDepartment(departmentId: number): Promise<number[]> {
    return this.children('department', 'staff', departmentId);
  }

  counterpartyIdsOfAddress(addressId: number): Promise<number[]> {
    return this.children('address', 'counterparty', addressId);
  }

  /** Every put is durable when DynamoDB acknowledges it. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    if (this.ownsClient) (this.client as DynamoDBClient).destroy();
  }
}
