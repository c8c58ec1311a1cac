import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ChangeStream } from '../../infra/constructs/change-stream.js';
import { Observability, type ObservabilityProps } from '../../infra/constructs/observability.js';
import { useUnvalidatedApps } from '../support/cdk-test-apps.js';

// Construct options that the full-stack test (defaults only) does not reach. No bundling, and no
// CloudFormation schema validation (the full-stack test runs it).
const newApp = useUnvalidatedApps();

const newStack = () => new Stack(newApp(), 'T', { env: { account: '123456789012', region: 'eu-west-2' } });

describe('ChangeStream options', () => {
  it('supports provisioned capacity and a custom retention', () => {
    const stack = newStack();
    new ChangeStream(stack, 'CS', { encryptionKey: new kms.Key(stack, 'K'), capacity: { mode: 'provisioned', shardCount: 3 }, retention: Duration.hours(48) });
    Template.fromStack(stack).hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: 3,
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      RetentionPeriodHours: 48,
    });
  });

  it('rejects a shard count that is not a positive integer', () => {
    const stack = newStack();
    expect(() => new ChangeStream(stack, 'CS', { encryptionKey: new kms.Key(stack, 'K'), capacity: { mode: 'provisioned', shardCount: 0 } })).toThrow(/shardCount/);
  });
});

describe('Observability options', () => {
  const props = (stack: Stack): ObservabilityProps => ({
    stream: kinesis.Stream.fromStreamArn(stack, 'S', 'arn:aws:kinesis:eu-west-2:123456789012:stream/s'),
    processorFunction: lambda.Function.fromFunctionName(stack, 'P', 'processor'),
    processorDeadLetterQueue: sqs.Queue.fromQueueArn(stack, 'Q', 'arn:aws:sqs:eu-west-2:123456789012:dlq'),
    loaderFunction: lambda.Function.fromFunctionName(stack, 'L', 'loader'),
    deliveryStreamName: 'archive',
    captureClusterName: 'cluster',
    captureServiceName: 'capture',
  });

  it('takes thresholds and metric dimensions, and subscribes nobody without an e-mail', () => {
    const stack = newStack();
    new Observability(stack, 'O', { ...props(stack), thresholds: { slotLagBytes: 5_000_000, iteratorAge: Duration.minutes(1) }, slotName: 'cdc_slot' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'slotLagBytes', Threshold: 5_000_000, Dimensions: [{ Name: 'SlotName', Value: 'cdc_slot' }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'GetRecords.IteratorAgeMilliseconds', Threshold: 60_000 });
  });

  it('can leave the alarms out (dashboard and topic stay)', () => {
    const stack = newStack();
    new Observability(stack, 'O', { ...props(stack), alarms: false });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::SNS::Topic', 1);
  });
});
