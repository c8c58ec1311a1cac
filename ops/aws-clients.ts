import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SQSClient } from '@aws-sdk/client-sqs';
import { isLoopbackEndpoint } from '../platform/aws-endpoint.js';

/**
 * SQS and CloudWatch clients for the operations commands: the default credential chain and regional
 * endpoint in AWS; with an endpoint override on loopback (emulators, recorded responses in tests),
 * placeholder credentials, as the Kinesis, S3 and DynamoDB clients do.
 */
export interface AwsClientOptions {
  region?: string;
  endpoint?: string;
}

function common(options: AwsClientOptions) {
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.endpoint && isLoopbackEndpoint(options.endpoint) ? { credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' } } : {}),
  };
}

export const createSqsClient = (options: AwsClientOptions): SQSClient => new SQSClient(common(options));
export const createCloudWatchClient = (options: AwsClientOptions): CloudWatchClient => new CloudWatchClient(common(options));
