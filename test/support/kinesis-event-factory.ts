import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { partitionKeyOf, serializeChangeEvent, type ChangeEvent } from '../../contracts/change-event.js';

/**
 * Realistic Kinesis event-source payloads (as Lambda receives them): base64 data, eventID
 * `<shardId>:<sequenceNumber>`, 56-digit sequence numbers, arrival time in fractional seconds.
 */
const STREAM_ARN = 'arn:aws:kinesis:eu-west-2:123456789012:stream/totesys-cdc-changes';

let sequence = 49590338271490256608559692538361571095921575989136588800n;

export function kinesisRecord(shard: number, payload: ChangeEvent | string | Uint8Array, partitionKey?: string): KinesisStreamRecord {
  const shardId = `shardId-${String(shard).padStart(12, '0')}`;
  const sequenceNumber = (sequence += 17n).toString();
  const data = typeof payload === 'string' || payload instanceof Uint8Array ? Buffer.from(payload) : Buffer.from(serializeChangeEvent(payload));
  return {
    awsRegion: 'eu-west-2',
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    eventSource: 'aws:kinesis',
    eventSourceARN: STREAM_ARN,
    eventVersion: '1.0',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/totesys-cdc-processor',
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: partitionKey ?? (typeof payload === 'object' && !(payload instanceof Uint8Array) ? partitionKeyOf(payload) : 'poison'),
      sequenceNumber,
      data: data.toString('base64'),
      approximateArrivalTimestamp: 1795003200.123,
    },
  };
}

export function kinesisEvent(records: KinesisStreamRecord[]): KinesisStreamEvent {
  return { Records: records };
}
