import { describe, expect, it } from 'vitest';
import { parseFailureRecord } from '../../ops/dlq-redrive/failure-record.js';

/** The example invocation record of the AWS Lambda developer guide (Kinesis on-failure destination). */
const AWS_EXAMPLE = {
  requestContext: { requestId: 'c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5', functionArn: 'arn:aws:lambda:us-east-2:123456789012:function:myfunction', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 1 },
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  version: '1.0',
  timestamp: '2019-11-14T00:38:06.021Z',
  KinesisBatchInfo: {
    shardId: 'shardId-000000000001',
    startSequenceNumber: '49601189658422359378836298521827638475320189012309704722',
    endSequenceNumber: '49601189658422359378836298522902373528957594348623495186',
    approximateArrivalOfFirstRecord: '2019-11-14T00:38:04.835Z',
    approximateArrivalOfLastRecord: '2019-11-14T00:38:05.580Z',
    batchSize: 500,
    streamArn: 'arn:aws:kinesis:us-east-2:123456789012:stream/mystream',
  },
};

describe('Kinesis on-failure record', () => {
  it('parses the documented shape into a range', () => {
    expect(parseFailureRecord(JSON.stringify(AWS_EXAMPLE))).toEqual({
      ok: true,
      range: {
        streamArn: 'arn:aws:kinesis:us-east-2:123456789012:stream/mystream',
        streamName: 'mystream',
        shardId: 'shardId-000000000001',
        startSequenceNumber: '49601189658422359378836298521827638475320189012309704722',
        endSequenceNumber: '49601189658422359378836298522902373528957594348623495186',
        batchSize: 500,
        condition: 'RetryAttemptsExhausted',
        failedAt: '2019-11-14T00:38:06.021Z',
      },
    });
  });

  it('rejects what is not one, saying why', () => {
    expect(parseFailureRecord('hello')).toEqual({ ok: false, reason: 'the message is not JSON' });
    const dynamo = { ...AWS_EXAMPLE, KinesisBatchInfo: undefined, DDBStreamBatchInfo: AWS_EXAMPLE.KinesisBatchInfo };
    expect(parseFailureRecord(JSON.stringify(dynamo))).toMatchObject({ ok: false, reason: expect.stringContaining('KinesisBatchInfo') });
    const reversed = { ...AWS_EXAMPLE, KinesisBatchInfo: { ...AWS_EXAMPLE.KinesisBatchInfo, startSequenceNumber: AWS_EXAMPLE.KinesisBatchInfo.endSequenceNumber, endSequenceNumber: AWS_EXAMPLE.KinesisBatchInfo.startSequenceNumber } };
    expect(parseFailureRecord(JSON.stringify(reversed))).toEqual({ ok: false, reason: 'endSequenceNumber is before startSequenceNumber' });
  });
});
